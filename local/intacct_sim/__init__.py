"""Local simulator of the Sage Intacct XML gateway (DTD 3.0) for tests and local runs.

from intacct_sim import SimulatorConfig, start_simulator
with start_simulator(SimulatorConfig(records=1000, seed=7)) as sim:
    ...  # POST XML to sim.url
"""

from .config import SimulatorConfig
from .server import Simulator, start_simulator

__all__ = ["Simulator", "SimulatorConfig", "start_simulator"]
