"""Capacity over years: demand -> devices -> megawatts -> money and carbon, across cloud, edge and regions.

``load_config`` (:mod:`.config`) -> ``run_plan`` (:mod:`.plan`) -> ``payload`` / CSV / text (:mod:`.output`);
the HTML report is :mod:`flopwatt.report.capacity`.
"""
