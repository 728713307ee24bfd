"""The demo: loading the synthetic city or the Nanjing Xuanwu extract (`datasets`), one account
per role (`accounts`) and sample cases (`cases`)."""
