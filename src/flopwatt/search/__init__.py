"""Design-space search: enumerate plans x stacks x fabrics x sites x cooling, constrain, Pareto front."""
