/* aj_avro.c - placeholder until its stage lands. */
