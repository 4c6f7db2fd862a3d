"""Email digests: choose each subscription's papers (``select``), render the mail (``render``) and
send it exactly once per period through the delivery ledger (``send``)."""
