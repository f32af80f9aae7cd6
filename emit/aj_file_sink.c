/* aj_file_sink.c - placeholder until its stage lands. */
