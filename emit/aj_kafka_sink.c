/* aj_kafka_sink.c - placeholder until its stage lands. */
