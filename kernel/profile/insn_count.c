// SPDX-License-Identifier: GPL-2.0
/*
 * insn_count.c - QEMU TCG plugin: guest instructions executed, per block address
 *
 * QEMU translates guest code into blocks; this plugin adds each block's
 * instruction count to a counter keyed by the block's guest address every
 * time the block runs, and writes "ADDRESS COUNT" lines (hex, decimal) when
 * QEMU exits. kernel/scripts/insn-profile.sh turns two such files into
 * instructions per iteration per kernel function.
 *
 * Only the few plugin API entry points used here are declared, with the
 * types of QEMU's plugin API version 1 (QEMU 7.2, Debian 12); QEMU checks
 * qemu_plugin_version when it loads the plugin.
 *
 * Build: gcc -O2 -shared -fPIC -o insn_count.so insn_count.c
 * Use:   qemu-system-x86_64 ... -plugin ./insn_count.so,arg=out=FILE
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;

typedef void (*tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*udata_cb_t)(qemu_plugin_id_t id, void *userdata);

/* enum qemu_plugin_op: QEMU_PLUGIN_INLINE_ADD_U64 */
#define INLINE_ADD_U64 0

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, int op,
					      void *ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_cb_t cb,
				    void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* Open addressing; a guest runs far fewer distinct blocks than this. */
#define SLOTS (1u << 22)

struct slot {
	uint64_t addr;
	uint64_t count;
};

static struct slot *slots;
static unsigned int used;
static const char *out_path = "insn_count.out";

/* Translation is serialised by QEMU, so the table needs no lock. */
static struct slot *slot_of(uint64_t addr)
{
	uint64_t i = (addr * 0x9e3779b97f4a7c15ull) >> 42;

	for (;; i++) {
		struct slot *s = &slots[i & (SLOTS - 1)];

		if (s->addr == addr)
			return s;
		if (!s->addr) {
			if (++used > SLOTS / 2) {
				fprintf(stderr, "insn_count: table full\n");
				exit(1);
			}
			s->addr = addr;
			return s;
		}
	}
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct slot *s = slot_of(qemu_plugin_tb_vaddr(tb));

	qemu_plugin_register_vcpu_tb_exec_inline(tb, INLINE_ADD_U64, &s->count,
						 qemu_plugin_tb_n_insns(tb));
}

static void write_counts(qemu_plugin_id_t id, void *userdata)
{
	FILE *f = fopen(out_path, "w");
	unsigned int i;

	if (!f) {
		perror(out_path);
		return;
	}
	for (i = 0; i < SLOTS; i++)
		if (slots[i].count)
			fprintf(f, "%016llx %llu\n",
				(unsigned long long)slots[i].addr,
				(unsigned long long)slots[i].count);
	fclose(f);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc,
			char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "out=", 4)) {
			fprintf(stderr, "insn_count: unknown argument %s\n", argv[i]);
			return -1;
		}
		out_path = argv[i] + 4;
	}
	slots = calloc(SLOTS, sizeof(*slots));
	if (!slots)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, write_counts, NULL);
	return 0;
}
