/* protobuf-c's side of the byte-level conformance test against swift-protobuf
 * (Tests/SwarmIntegrationTests/CProtobufConformanceTests.swift):
 *
 *   proto_conformance corpus DIR        writes DIR/Frame-N.bin and DIR/Measurement-N.bin: messages
 *                                       with every field set, walked through protobuf-c's
 *                                       descriptors (every oneof member in turn, repeated fields
 *                                       with two elements, optional fields present, zero included)
 *   proto_conformance repack TYPE IN OUT  unpacks IN as TYPE (Frame or Measurement) with protobuf-c
 *                                       and packs it again into OUT; exit 1 if IN does not unpack
 *
 * The Swift test decodes each corpus file, re-encodes it and expects the same bytes, then hands
 * its encoding back to `repack` and expects the same bytes again: both directions, every field. */
#include "streamswarm/mesh/v1/measurement.pb-c.h"
#include "streamswarm/mesh/v1/session.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *checked_calloc(size_t count, size_t size) {
    void *memory = calloc(count ? count : 1, size ? size : 1);
    if (!memory) {
        fprintf(stderr, "proto_conformance: out of memory\n");
        exit(2);
    }
    return memory;
}

static char *text_value(unsigned id, unsigned variant, unsigned element) {
    char *text = checked_calloc(32, 1);
    snprintf(text, 32, "f%u-v%u-e%u", id, variant, element);
    return text;
}

/* Writes one value of `field` (never the proto3 default, except a present zero when `zero`). */
static void set_value(const ProtobufCFieldDescriptor *field, void *at, unsigned variant, unsigned element,
                      unsigned depth, int zero);

static void populate(ProtobufCMessage *message, unsigned variant, unsigned depth);

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *descriptor, unsigned variant, unsigned depth) {
    ProtobufCMessage *message = checked_calloc(1, descriptor->sizeof_message);
    descriptor->message_init(message);
    populate(message, variant, depth);
    return message;
}

static void set_value(const ProtobufCFieldDescriptor *field, void *at, unsigned variant, unsigned element,
                      unsigned depth, int zero) {
    uint64_t n = zero ? 0 : (uint64_t)field->id * 7u + variant * 3u + element + 1u;
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
        int32_t value = zero ? 0 : (variant % 2 ? -(int32_t)n : (int32_t)n);
        memcpy(at, &value, sizeof value);
        break;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
        uint32_t value = (uint32_t)n;
        memcpy(at, &value, sizeof value);
        break;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t value = zero ? 0 : (variant % 2 ? -(int64_t)(n << 33) : (int64_t)(n << 33));
        memcpy(at, &value, sizeof value);
        break;
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t value = zero ? 0 : n << 35;
        memcpy(at, &value, sizeof value);
        break;
    }
    case PROTOBUF_C_TYPE_FLOAT: {
        float value = zero ? 0.0f : (float)n * 0.5f;
        memcpy(at, &value, sizeof value);
        break;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double value = zero ? 0.0 : (double)n * 1.25;
        memcpy(at, &value, sizeof value);
        break;
    }
    case PROTOBUF_C_TYPE_BOOL: {
        protobuf_c_boolean value = zero ? 0 : 1;
        memcpy(at, &value, sizeof value);
        break;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *descriptor = field->descriptor;
        int value = zero ? 0 : descriptor->values[(variant + element + 1) % descriptor->n_values].value;
        memcpy(at, &value, sizeof value);
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        char *value = zero ? checked_calloc(1, 1) : text_value(field->id, variant, element);
        memcpy(at, &value, sizeof value);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData value = {0, NULL};
        if (!zero) {
            value.len = 3 + element;
            value.data = checked_calloc(value.len, 1);
            for (size_t i = 0; i < value.len; i++) value.data[i] = (uint8_t)(field->id + variant + i);
        }
        memcpy(at, &value, sizeof value);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *value = new_message(field->descriptor, variant + element, depth + 1);
        memcpy(at, &value, sizeof value);
        break;
    }
    }
}

static size_t value_size(ProtobufCType type) {
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 8;
}

static void populate(ProtobufCMessage *message, unsigned variant, unsigned depth) {
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    if (depth > 8) return; /* the mesh schema has no recursion; a guard all the same */
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        char *base = (char *)message;
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            /* The oneof's members share one case field: pick member `variant` mod their count. */
            unsigned members = 0, index = 0;
            for (unsigned j = 0; j < descriptor->n_fields; j++) {
                const ProtobufCFieldDescriptor *other = &descriptor->fields[j];
                if ((other->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                    other->quantifier_offset == field->quantifier_offset) {
                    if (j < i) index++;
                    members++;
                }
            }
            if (index != (variant + depth) % members) continue;
            uint32_t chosen = field->id;
            memcpy(base + field->quantifier_offset, &chosen, sizeof chosen);
            /* A one-member oneof is a proto3 `optional`: every third variant, a present zero. */
            set_value(field, base + field->offset, variant, 0, depth,
                      members == 1 && variant % 3 == 2 && field->type != PROTOBUF_C_TYPE_MESSAGE);
        } else if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = 2, size = value_size(field->type);
            char *elements = checked_calloc(count, size);
            for (size_t e = 0; e < count; e++) set_value(field, elements + e * size, variant, (unsigned)e, depth, 0);
            memcpy(base + field->quantifier_offset, &count, sizeof count);
            memcpy(base + field->offset, &elements, sizeof elements);
        } else {
            set_value(field, base + field->offset, variant, 0, depth, 0);
            if (field->label == PROTOBUF_C_LABEL_OPTIONAL && field->quantifier_offset) {
                protobuf_c_boolean has = 1;
                memcpy(base + field->quantifier_offset, &has, sizeof has);
            }
        }
    }
}

static int write_file(const char *path, const uint8_t *bytes, size_t length) {
    FILE *file = fopen(path, "wb");
    if (!file || fwrite(bytes, 1, length, file) != length || fclose(file) != 0) {
        fprintf(stderr, "proto_conformance: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

static int write_message(const char *dir, const char *name, unsigned variant, const ProtobufCMessage *message) {
    size_t length = protobuf_c_message_get_packed_size(message);
    uint8_t *bytes = checked_calloc(length, 1);
    protobuf_c_message_pack(message, bytes);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-%u.bin", dir, name, variant);
    int failed = write_file(path, bytes, length);
    free(bytes);
    return failed;
}

static const ProtobufCMessageDescriptor *descriptor_named(const char *name) {
    if (strcmp(name, "Frame") == 0) return &streamswarm__mesh__v1__frame__descriptor;
    if (strcmp(name, "Measurement") == 0) return &streamswarm__mesh__v1__measurement__descriptor;
    return NULL;
}

static int corpus(const char *dir) {
    /* Frame: 11 body members, Measurement: 10 results; 30 variants reach each nested oneof member too. */
    const char *roots[] = {"Frame", "Measurement"};
    int failed = 0;
    for (unsigned r = 0; r < 2; r++) {
        for (unsigned variant = 0; variant < 30; variant++) {
            ProtobufCMessage *message = new_message(descriptor_named(roots[r]), variant, 0);
            failed |= write_message(dir, roots[r], variant, message);
            protobuf_c_message_free_unpacked(message, NULL);
        }
    }
    return failed;
}

static int repack(const char *type, const char *in, const char *out) {
    const ProtobufCMessageDescriptor *descriptor = descriptor_named(type);
    if (!descriptor) {
        fprintf(stderr, "proto_conformance: unknown type %s (Frame or Measurement)\n", type);
        return 2;
    }
    FILE *file = fopen(in, "rb");
    if (!file) {
        fprintf(stderr, "proto_conformance: cannot read %s\n", in);
        return 2;
    }
    uint8_t *bytes = checked_calloc(1 << 22, 1);
    size_t length = fread(bytes, 1, 1 << 22, file);
    fclose(file);
    ProtobufCMessage *message = protobuf_c_message_unpack(descriptor, NULL, length, bytes);
    free(bytes);
    if (!message) {
        fprintf(stderr, "proto_conformance: %s does not unpack as %s\n", in, type);
        return 1;
    }
    size_t packed = protobuf_c_message_get_packed_size(message);
    uint8_t *again = checked_calloc(packed, 1);
    protobuf_c_message_pack(message, again);
    int failed = write_file(out, again, packed);
    free(again);
    protobuf_c_message_free_unpacked(message, NULL);
    return failed;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "corpus") == 0) return corpus(argv[2]);
    if (argc == 5 && strcmp(argv[1], "repack") == 0) return repack(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: %s corpus DIR | repack Frame|Measurement IN OUT\n", argv[0]);
    return 2;
}
