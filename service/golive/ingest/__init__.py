"""Kafka: the consumer loop, rebalance handling and dead letters.

The only package that imports aiokafka."""
