"""Demo data: a synthetic population register to run the drive against (`jemput demo ...`)."""
