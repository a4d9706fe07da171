"""How data moves through the systolic array, cycle by cycle."""
