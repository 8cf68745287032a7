"""The `golive demo` story: a realistic production rollout played through Kafka."""
