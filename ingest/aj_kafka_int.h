/* aj_kafka_int.h - what the Kafka readers of ingest/ share; not part of the stage's interface (aj_ingest.h). */
#ifndef AJ_KAFKA_INT_H
#define AJ_KAFKA_INT_H

#include <librdkafka/rdkafka.h>

#include "aj_ingest.h"

/* Whether prop is producer-only: the same configuration drives the producers, and setting it on
 * a consumer only draws warnings from librdkafka. */
int aj_kafka_producer_prop(const char *prop);

/* msg as a view of m (borrowed while m lives), from topic (borrowed). */
void aj_kafka_message_view(const rd_kafka_message_t *m, const char *topic, aj_message *msg);

/* Releases held (may be NULL), then closes and destroys the consumer rk (may be NULL). */
void aj_kafka_consumer_free(rd_kafka_t *rk, rd_kafka_message_t *held);

#endif /* AJ_KAFKA_INT_H */
