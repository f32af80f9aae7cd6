/* aj_file_source.c - placeholder until its stage lands. */
