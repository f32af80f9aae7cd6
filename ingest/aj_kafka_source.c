/* aj_kafka_source.c - placeholder until its stage lands. */
