"""From rules to SQL and back: the planner, the AE SQL compiler, reading answers."""
