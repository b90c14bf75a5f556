// Keeps the operator library non-empty while its sources grow.
