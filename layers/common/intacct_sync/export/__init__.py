"""Export logic: pure functions and small classes; no boto3 and no os.environ here."""
