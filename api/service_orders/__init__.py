"""Service orders (居民点单、社区派单、党员接单): a station's service catalog, residents' orders
posted to the volunteers of their grid, taken once, done, confirmed and rated; timeouts that
re-post to the whole community. Modules: catalog, volunteers, orders (the resident's side),
flow (the volunteer's), timeouts and messages (who is told, through the outbox), lists, rows."""
