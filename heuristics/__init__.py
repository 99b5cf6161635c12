"""Pure analysis functions over domain records: no I/O, no clock, no globals."""
