#!/bin/sh
# Builds the libFuzzer targets into fuzz/: the modules compiled with libFuzzer coverage and ASan (outside SwiftPM,
# so the normal build stays fast), then each entry point.
#   fuzz/stream-loader-fuzz   SaveVMLoader over QObject, Machine, Migration
#   fuzz/line-parser-fuzz     the monitor's line parser and completion over the table hmp ships (module Monitor)
#   fuzz/number-parser-fuzz   sizes, strtoull/strtod, expressions, migration parameter values
# Usage: fuzz/build.sh [target...]   (default: all three); see fuzz/README.md.
set -eu
cd "$(dirname "$0")/.."
out=fuzz/.build
mkdir -p "$out"
targets=${*:-"stream-loader-fuzz line-parser-fuzz number-parser-fuzz"}
flags="-swift-version 6 -O -sanitize=fuzzer,address -parse-as-library -I $out -I Sources/CLinux"
flags="$flags -I Sources/CEditLine -I Sources/CCurses"
flags="$flags -enable-upcoming-feature ExistentialAny -enable-upcoming-feature InternalImportsByDefault"

# Compiles module $1 (depending on the modules in $2, extra flags after) unless its object is newer than its
# sources and its dependencies' objects. HMP gets -enable-testing, so that the number fuzzer can reach its
# internal readers through @testable import.
module() {
    name=$1 deps=$2
    shift 2
    object="$out/$name.o"
    stale=no
    if [ ! -f "$object" ] || [ -n "$(find "Sources/$name" -newer "$object" -name '*.swift')" ]; then stale=yes; fi
    for dep in $deps; do
        if [ "$out/$dep.o" -nt "$object" ]; then stale=yes; fi
    done
    [ $stale = yes ] || return 0
    echo "fuzz/build.sh: compiling $name" >&2
    # shellcheck disable=SC2046
    swiftc $flags "$@" -emit-module -emit-module-path "$out/$name.swiftmodule" -module-name "$name" \
        -emit-object -wmo -o "$object" $(find "Sources/$name" -name '*.swift' | sort)
}

module QObject ""
module HMP "QObject" -enable-testing
module Machine "QObject"
module Migration "QObject Machine"
for target in $targets; do
    case $target in
    stream-loader-fuzz)
        swiftc $flags -module-name StreamLoaderFuzz fuzz/StreamLoaderFuzz.swift \
            "$out/QObject.o" "$out/Machine.o" "$out/Migration.o" -o fuzz/stream-loader-fuzz ;;
    line-parser-fuzz)
        module Monitor "QObject HMP Machine Migration"
        swiftc $flags -module-name LineParserFuzz fuzz/LineParserFuzz.swift \
            "$out/QObject.o" "$out/HMP.o" "$out/Machine.o" "$out/Migration.o" "$out/Monitor.o" \
            -ledit -lncursesw -ltinfo -o fuzz/line-parser-fuzz ;;
    number-parser-fuzz)
        swiftc $flags -module-name NumberParserFuzz fuzz/NumberParserFuzz.swift \
            "$out/QObject.o" "$out/HMP.o" "$out/Machine.o" "$out/Migration.o" -o fuzz/number-parser-fuzz ;;
    *)
        echo "fuzz/build.sh: unknown target $target" >&2
        exit 2 ;;
    esac
done
