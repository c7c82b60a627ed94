#!/usr/bin/env python3
"""Lets TorchSharp's libLibTorchSharp.so load against an older system libstdc++ (Debian 12: up to GLIBCXX_3.4.30).

TorchSharp 0.107.0's libLibTorchSharp.so is linked with GCC 13 headers and records a version requirement for
GLIBCXX_3.4.32, for exactly one symbol, std::ios_base_library_init(). GCC 13's <iostream> only *names* that symbol (so the
static linker pulls in libstdc++'s stream initialisation); no relocation uses it, so the dynamic loader never looks it
up. The requirement alone still makes dlopen fail on a libstdc++ without that version ("version `GLIBCXX_3.4.32' not
found").

This script works on the COPY of libLibTorchSharp.so in a build output folder:

  1. If the system libstdc++ (the one the dynamic loader finds) defines the version, it does nothing.
  2. It proves, from the loader's own view of the file (the PT_DYNAMIC tables: DT_RELA, DT_REL, DT_JMPREL, DT_VERSYM,
     DT_VERNEED), that no relocation binds a symbol of that version. If one does, it fails (exit code 1) and changes
     nothing: weakening the requirement would then turn a clean load error into a crash at the first call.
  3. It sets VER_FLG_WEAK on that one version requirement (the vna_flags of its Vernaux entry in .gnu.version_r). The
     loader then accepts a libstdc++ without the version (glibc: a missing weak version is not an error). Nothing else
     in the file changes (two bytes); the file keeps its size, mode and modification time.

The file is rewritten through a temporary file and a rename, so a hard link (for example into the NuGet cache) is
never modified in place, and paths below any --forbid-under folder (the NuGet cache) are refused.
Only the Python 3 standard library is used.

Usage:
  weaken_glibcxx_requirement.py patch  FILE [--version GLIBCXX_3.4.32] [--forbid-under DIR]... [--system-libstdcxx PATH]
  weaken_glibcxx_requirement.py check  FILE [--version GLIBCXX_3.4.32] [--system-libstdcxx PATH]
Exit codes: 0 done / nothing to do, 1 refused (a relocation binds the version, forbidden path), 2 bad input.
"""

import argparse
import os
import struct
import subprocess
import sys
import tempfile

VER_FLG_WEAK = 0x2
PT_LOAD, PT_DYNAMIC = 1, 2
DT_NULL, DT_PLTRELSZ, DT_STRTAB, DT_SYMTAB = 0, 2, 5, 6
DT_RELA, DT_RELASZ, DT_RELAENT = 7, 8, 9
DT_REL, DT_RELSZ, DT_RELENT, DT_PLTREL, DT_JMPREL = 17, 18, 19, 20, 23
DT_VERSYM, DT_VERDEF, DT_VERDEFNUM, DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFFF0, 0x6FFFFFFC, 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF
LIBSTDCXX = "libstdc++.so.6"


class ElfError(Exception):
    """The file is not an ELF64 little-endian shared object this script understands."""


class Elf:
    """Read-only view of an ELF64 little-endian file through its program headers (what the dynamic loader reads)."""

    def __init__(self, data, path):
        self.data = data
        self.path = path
        if len(data) < 64 or data[:4] != b"\x7fELF":
            raise ElfError(f"{path}: not an ELF file")
        if data[4] != 2 or data[5] != 1:
            raise ElfError(f"{path}: only 64-bit little-endian ELF files are supported")
        phoff, = struct.unpack_from("<Q", data, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
        self.loads = []
        dynamic = None
        for i in range(phnum):
            p_type, _, p_offset, p_vaddr, _, p_filesz, _, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)
            if p_type == PT_LOAD:
                self.loads.append((p_vaddr, p_offset, p_filesz))
            elif p_type == PT_DYNAMIC:
                dynamic = (p_offset, p_filesz)
        if dynamic is None:
            raise ElfError(f"{path}: no PT_DYNAMIC segment")
        self.dyn = {}
        off, size = dynamic
        for pos in range(off, off + size, 16):
            tag, val = struct.unpack_from("<qQ", data, pos)
            if tag == DT_NULL:
                break
            self.dyn.setdefault(tag, val)

    def offset(self, vaddr):
        """File offset of a virtual address (through the PT_LOAD segments)."""
        for start, off, filesz in self.loads:
            if start <= vaddr < start + filesz:
                return off + (vaddr - start)
        raise ElfError(f"{self.path}: address {vaddr:#x} is outside every PT_LOAD segment")

    def string(self, index):
        start = self.offset(self.dyn[DT_STRTAB]) + index
        end = self.data.index(b"\0", start)
        return self.data[start:end].decode("utf-8", "replace")

    def needed_versions(self):
        """(file, version name, flags, version index, file offset of the Vernaux entry) for every version requirement."""
        out = []
        if DT_VERNEED not in self.dyn:
            return out
        pos = self.offset(self.dyn[DT_VERNEED])
        for _ in range(self.dyn.get(DT_VERNEEDNUM, 0)):
            _, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from("<HHIII", self.data, pos)
            file = self.string(vn_file)
            aux = pos + vn_aux
            for _ in range(vn_cnt):
                _, flags, other, name, nxt = struct.unpack_from("<IHHII", self.data, aux)
                out.append((file, self.string(name), flags, other, aux))
                aux += nxt
            if vn_next == 0:
                break
            pos += vn_next
        return out

    def defined_versions(self):
        """Names of the versions this file defines (.gnu.version_d through DT_VERDEF)."""
        names = set()
        if DT_VERDEF not in self.dyn:
            return names
        pos = self.offset(self.dyn[DT_VERDEF])
        for _ in range(self.dyn.get(DT_VERDEFNUM, 0)):
            _, _, _, vd_cnt, _, vd_aux, vd_next = struct.unpack_from("<HHHHIII", self.data, pos)
            if vd_cnt > 0:
                vda_name, = struct.unpack_from("<I", self.data, pos + vd_aux)
                names.add(self.string(vda_name))
            if vd_next == 0:
                break
            pos += vd_next
        return names

    def relocated_symbols(self):
        """Symbol indices used by any dynamic relocation (DT_RELA, DT_REL and the PLT relocations DT_JMPREL)."""
        tables = []
        if DT_RELA in self.dyn:
            tables.append((self.dyn[DT_RELA], self.dyn.get(DT_RELASZ, 0), self.dyn.get(DT_RELAENT, 24)))
        if DT_REL in self.dyn:
            tables.append((self.dyn[DT_REL], self.dyn.get(DT_RELSZ, 0), self.dyn.get(DT_RELENT, 16)))
        if DT_JMPREL in self.dyn:
            entsize = 24 if self.dyn.get(DT_PLTREL, DT_RELA) == DT_RELA else 16
            tables.append((self.dyn[DT_JMPREL], self.dyn.get(DT_PLTRELSZ, 0), entsize))
        symbols = set()
        for vaddr, size, entsize in tables:
            if size == 0:
                continue
            if entsize not in (16, 24):
                raise ElfError(f"{self.path}: unexpected relocation entry size {entsize}")
            base = self.offset(vaddr)
            for pos in range(base, base + size, entsize):
                r_info, = struct.unpack_from("<Q", self.data, pos + 8)
                sym = r_info >> 32
                if sym != 0:
                    symbols.add(sym)
        return symbols

    def symbol_version_index(self, sym):
        return struct.unpack_from("<H", self.data, self.offset(self.dyn[DT_VERSYM]) + 2 * sym)[0] & 0x7FFF

    def symbol_name(self, sym):
        st_name, = struct.unpack_from("<I", self.data, self.offset(self.dyn[DT_SYMTAB]) + 24 * sym)
        return self.string(st_name)


def system_libstdcxx():
    """The libstdc++.so.6 the dynamic loader would pick for an x86-64 process (ldconfig cache, then the usual paths)."""
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            line = line.strip()
            if line.startswith(LIBSTDCXX + " ") and "x86-64" in line and "=>" in line:
                return line.split("=>", 1)[1].strip()
    except OSError:
        pass
    for candidate in ("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                      "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6"):
        if os.path.exists(candidate):
            return candidate
    return None


def read(path):
    with open(path, "rb") as f:
        return f.read()


def analyse(path, version, system_path):
    """Returns (elf, requirement, system provides version, symbols bound with that version)."""
    elf = Elf(read(path), path)
    requirement = next((r for r in elf.needed_versions() if r[0] == LIBSTDCXX and r[1] == version), None)
    provides = False
    if system_path is not None:
        provides = version in Elf(read(system_path), system_path).defined_versions()
    bound = []
    if requirement is not None:
        index = requirement[3]
        bound = sorted(elf.symbol_name(s) for s in elf.relocated_symbols() if elf.symbol_version_index(s) == index)
    return elf, requirement, provides, bound


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["patch", "check"])
    parser.add_argument("file")
    parser.add_argument("--version", default="GLIBCXX_3.4.32")
    parser.add_argument("--forbid-under", action="append", default=[])
    parser.add_argument("--system-libstdcxx", default=None, help="the libstdc++ to test (default: the loader's)")
    args = parser.parse_args(argv)
    tag = "weaken_glibcxx_requirement"
    target = os.path.realpath(args.file)
    if not os.path.isfile(target):
        print(f"{tag}: error: {args.file} does not exist", file=sys.stderr)
        return 2
    for forbidden in args.forbid_under:
        if forbidden and os.path.commonpath([target, os.path.realpath(forbidden)]) == os.path.realpath(forbidden):
            print(f"{tag}: error: refusing to modify {target}: it is inside {forbidden} (only build output copies are patched)", file=sys.stderr)
            return 1
    system_path = args.system_libstdcxx or system_libstdcxx()
    try:
        _, requirement, provides, bound = analyse(target, args.version, system_path)
    except (ElfError, OSError, struct.error, ValueError, KeyError) as e:
        print(f"{tag}: error: {e}", file=sys.stderr)
        return 2
    if requirement is None:
        print(f"{tag}: {target} does not require {args.version} from {LIBSTDCXX}; nothing to do")
        return 0
    weak = bool(requirement[2] & VER_FLG_WEAK)
    state = "weak" if weak else "required"
    print(f"{tag}: {os.path.basename(target)} needs {args.version} ({state}); relocations binding it: "
          f"{len(bound)}{(' (' + ', '.join(bound) + ')') if bound else ''}; system {LIBSTDCXX} "
          f"({system_path or 'not found'}) {'provides' if provides else 'lacks'} it")
    if args.command == "check":
        return 1 if bound else 0
    if provides:
        print(f"{tag}: the system libstdc++ provides {args.version}: the file is left as it is")
        return 0
    if bound:
        print(f"{tag}: error: {len(bound)} relocation(s) bind symbols of {args.version} ({', '.join(bound)}); marking the "
              f"requirement weak would crash at the first call instead of failing to load. Install a libstdc++ with "
              f"{args.version} or use a TorchSharp build linked against an older one. {target} was not changed.", file=sys.stderr)
        return 1
    if weak:
        print(f"{tag}: already weak; nothing to do")
        return 0
    data = bytearray(read(target))
    aux = requirement[4]
    flags, = struct.unpack_from("<H", data, aux + 4)
    struct.pack_into("<H", data, aux + 4, flags | VER_FLG_WEAK)
    stat = os.stat(target)
    fd, temp = tempfile.mkstemp(prefix=".weaken-", dir=os.path.dirname(target))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, stat.st_mode & 0o7777)
        os.utime(temp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        os.replace(temp, target)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    _, after, _, _ = analyse(target, args.version, system_path)
    if after is None or not after[2] & VER_FLG_WEAK:
        print(f"{tag}: error: the flag did not stick in {target}", file=sys.stderr)
        return 2
    print(f"{tag}: marked {args.version} weak in {target} (VER_FLG_WEAK in .gnu.version_r; nothing else changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
