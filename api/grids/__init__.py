"""Grid layers (网格, 微网格) in the database: generation jobs from files or PostGIS
(`generation`), the planner's edits (`edits`) and 多格合一 of departments' layers (`unify`)."""
