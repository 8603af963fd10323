"""Scale-out fabric: topologies (counts), link media by length class and policy, bill of materials."""
