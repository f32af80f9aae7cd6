/* aj_pipeline.c - placeholder until its stage lands. */
