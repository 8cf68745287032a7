"""The pure core: state, reducers, KPIs, forecast and alert conditions. No I/O, no clock."""
