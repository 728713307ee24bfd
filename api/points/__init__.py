"""Red points (红色积分): the ledger, its rules, activities, exchanges and rankings."""
