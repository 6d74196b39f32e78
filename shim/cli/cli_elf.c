/* SPDX-License-Identifier: MIT */
/* What exec needs to know about a program before running it under the
 * library, read from its ELF headers: whether a preload library can reach it
 * at all (an interpreter, not Go) and which C library it uses, and the same
 * C library question for libvboxfix.so itself. Every size and offset read
 * from the file is bounded: the file may be anything. */
#include "cli.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

const char *cli_libc_name(enum cli_libc l)
{
	return l == CLI_LIBC_GLIBC ? "glibc" : l == CLI_LIBC_MUSL ? "musl" : "unknown";
}

/* ld-linux-x86-64.so.2, ld-linux-aarch64.so.1, ld64.so.2 are glibc's
 * loaders; ld-musl-ARCH.so.1 musl's. */
static enum cli_libc libc_of_interp(const char *interp)
{
	const char *base = strrchr(interp, '/');
	base = base ? base + 1 : interp;
	if (!strncmp(base, "ld-musl", 7))
		return CLI_LIBC_MUSL;
	if (!strncmp(base, "ld-linux", 8) || !strncmp(base, "ld64.so", 7))
		return CLI_LIBC_GLIBC;
	return CLI_LIBC_UNKNOWN;
}

/* libc.so.6 is glibc; musl-gcc links "libc.so", Alpine "libc.musl-ARCH.so.1". */
static enum cli_libc libc_of_needed(const char *n)
{
	if (!strcmp(n, "libc.so.6"))
		return CLI_LIBC_GLIBC;
	if (!strcmp(n, "libc.so") || !strncmp(n, "libc.musl", 9) || !strncmp(n, "ld-musl", 7))
		return CLI_LIBC_MUSL;
	return CLI_LIBC_UNKNOWN;
}

static int read_at(FILE *f, Elf64_Off off, void *buf, size_t n)
{
	if (off > (Elf64_Off)0x7fffffff || fseek(f, (long)off, SEEK_SET) != 0)
		return -1;
	return fread(buf, 1, n, f) == n ? 0 : -1;
}

/* 1 when the file's sections mark a Go binary. */
static int elf_is_go(FILE *f, const Elf64_Ehdr *eh)
{
	if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum == 0 ||
	    eh->e_shnum > 4096 || eh->e_shstrndx >= eh->e_shnum)
		return 0;
	Elf64_Shdr *sh = calloc(eh->e_shnum, sizeof *sh);
	if (!sh)
		return 0;
	int go = 0;
	char *names = NULL;
	if (read_at(f, eh->e_shoff, sh, sizeof *sh * eh->e_shnum) != 0)
		goto out;
	Elf64_Shdr *ns = &sh[eh->e_shstrndx];
	if (ns->sh_size == 0 || ns->sh_size > (1u << 20))
		goto out;
	names = malloc(ns->sh_size + 1);
	if (!names || read_at(f, ns->sh_offset, names, ns->sh_size) != 0)
		goto out;
	names[ns->sh_size] = 0;
	for (int i = 0; i < eh->e_shnum && !go; i++) {
		if (sh[i].sh_name >= ns->sh_size)
			continue;
		const char *nm = names + sh[i].sh_name;
		go = !strcmp(nm, ".go.buildinfo") || !strcmp(nm, ".note.go.buildid") || !strcmp(nm, ".gopclntab");
	}
out:
	free(names);
	free(sh);
	return go;
}

/* File offset of virtual address `va`, through the PT_LOAD segments. */
static int va_to_off(const Elf64_Phdr *ph, int n, Elf64_Addr va, Elf64_Off *off)
{
	for (int i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && va >= ph[i].p_vaddr && va - ph[i].p_vaddr < ph[i].p_filesz) {
			*off = ph[i].p_offset + (va - ph[i].p_vaddr);
			return 0;
		}
	return -1;
}

/* The C library among the DT_NEEDED entries of the dynamic segment. */
static enum cli_libc libc_of_dynamic(FILE *f, const Elf64_Phdr *ph, int n, const Elf64_Phdr *dyn)
{
	size_t cnt = dyn->p_filesz / sizeof(Elf64_Dyn);
	if (cnt == 0 || cnt > 4096)
		return CLI_LIBC_UNKNOWN;
	Elf64_Dyn *d = calloc(cnt, sizeof *d);
	if (!d || read_at(f, dyn->p_offset, d, cnt * sizeof *d) != 0) {
		free(d);
		return CLI_LIBC_UNKNOWN;
	}
	Elf64_Addr strtab = 0;
	Elf64_Xword strsz = 0;
	for (size_t i = 0; i < cnt && d[i].d_tag != DT_NULL; i++) {
		if (d[i].d_tag == DT_STRTAB)
			strtab = d[i].d_un.d_ptr;
		else if (d[i].d_tag == DT_STRSZ)
			strsz = d[i].d_un.d_val;
	}
	enum cli_libc l = CLI_LIBC_UNKNOWN;
	Elf64_Off soff;
	for (size_t i = 0; strtab && i < cnt && d[i].d_tag != DT_NULL && l == CLI_LIBC_UNKNOWN; i++) {
		char name[64] = "";
		if (d[i].d_tag != DT_NEEDED || d[i].d_un.d_val >= strsz ||
		    va_to_off(ph, n, strtab + d[i].d_un.d_val, &soff) != 0)
			continue;
		if (fseek(f, (long)soff, SEEK_SET) == 0 && fgets(name, sizeof name, f))
			l = libc_of_needed(name);
	}
	free(d);
	return l;
}

static int read_phdrs(FILE *f, const Elf64_Ehdr *eh, struct cli_elf *e)
{
	Elf64_Phdr *ph = calloc(eh->e_phnum ? eh->e_phnum : 1, sizeof *ph);
	if (!ph || read_at(f, eh->e_phoff, ph, sizeof *ph * eh->e_phnum) != 0) {
		free(ph);
		return -1;
	}
	const Elf64_Phdr *dyn = NULL;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = &ph[i];
		if (ph[i].p_type != PT_INTERP || e->dynamic)
			continue;
		e->dynamic = 1;
		size_t len = ph[i].p_filesz < sizeof e->interp ? ph[i].p_filesz : sizeof e->interp - 1;
		if (read_at(f, ph[i].p_offset, e->interp, len) == 0)
			e->interp[len] = 0;
		else
			e->interp[0] = 0;
		e->libc = libc_of_interp(e->interp);
	}
	if (e->libc == CLI_LIBC_UNKNOWN && dyn)
		e->libc = libc_of_dynamic(f, ph, eh->e_phnum, dyn);
	free(ph);
	return 0;
}

int cli_elf_read(const char *path, struct cli_elf *e)
{
	memset(e, 0, sizeof *e);
	FILE *f = fopen(path, "rbe");
	if (!f)
		return -1;
	Elf64_Ehdr eh;
	int rc = -1;
	if (fread(&eh, sizeof eh, 1, f) == 1 && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum <= 1024 &&
	    read_phdrs(f, &eh, e) == 0) {
		e->go = elf_is_go(f, &eh);
		rc = 0;
	}
	fclose(f);
	return rc;
}

void cli_print_version(void)
{
	char lib[PATH_MAX], tried[4 * PATH_MAX];
	struct cli_elf e;
	printf("vboxfix %s\n", VBF_VERSION);
	if (cli_find_library(lib, sizeof lib, tried, sizeof tried) != 0)
		printf("library: %s not found (looked at %s)\n", VBF_LIBNAME, tried);
	else if (cli_elf_read(lib, &e) == 0 && e.libc != CLI_LIBC_UNKNOWN)
		printf("library: %s (%s build)\n", lib, cli_libc_name(e.libc));
	else
		printf("library: %s\n", lib);
}
