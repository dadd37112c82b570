#!/bin/sh
# Builds the libFuzzer targets into fuzz/: the modules compiled with libFuzzer coverage and ASan (outside SwiftPM,
# so the normal build stays fast), then each entry point.
#   fuzz/stream-loader-fuzz   SaveVMLoader over QObject, MigrationModel, Machine, Migration
#   fuzz/stream-loader-large-fuzz  the same over a 4 MiB guest, fed through a pipe in ragged pieces (direct page reads)
#   fuzz/line-parser-fuzz     the monitor's line parser and completion over the table hmp ships (module Monitor)
#   fuzz/number-parser-fuzz   sizes, strtoull/strtod, expressions, migration parameter values
#   fuzz/qmp-framing-fuzz     QMP's JSON stream splitter, the JSON parser and the QMP message decoder
# Usage: fuzz/build.sh [target...]   (default: all five); see fuzz/README.md.
set -eu
cd "$(dirname "$0")/.."
out=fuzz/.build
mkdir -p "$out"
targets=${*:-"stream-loader-fuzz stream-loader-large-fuzz line-parser-fuzz number-parser-fuzz qmp-framing-fuzz"}
# swift-system (Platform's dependency) comes from SwiftPM's own release build, uninstrumented: it is not what is
# fuzzed, and its availability macros make it awkward to compile by hand.
swift build -c release --target SystemPackage >&2
release=$(swift build -c release --show-bin-path)
system="-I $release/Modules -I .build/checkouts/swift-system/Sources/CSystem/include"
system_objects=$(find "$release/SystemPackage.build" "$release/CSystem.build" -name '*.o' | sort)
# The language mode and upcoming features are Package.swift's `strict` settings, read from there so that the
# fuzzed modules are compiled as SwiftPM compiles them.
settings=$(sed -n '/^let strict: \[SwiftSetting\] = \[/,/^\]/p' Package.swift)
language=$(printf '%s\n' "$settings" | sed -n 's/.*\.swiftLanguageMode(\.v\([0-9]*\)).*/-swift-version \1/p')
features=$(printf '%s\n' "$settings" | sed -n 's/.*\.enableUpcomingFeature("\([A-Za-z]*\)").*/-enable-upcoming-feature \1/p')
if [ -z "$language" ] || [ -z "$features" ]; then
    echo "fuzz/build.sh: no language mode or upcoming features in Package.swift's strict settings" >&2
    exit 2
fi
# shellcheck disable=SC2086
flags="$language $(echo $features) -O -sanitize=fuzzer,address -parse-as-library -I $out -I Sources/CLinux $system"
flags="$flags -I Sources/CEditLine -I Sources/CCurses"

# Compiles module $1 (depending on the modules in $2, extra flags after) unless its object is newer than its
# sources, its dependencies' objects and Package.swift. HMP gets -enable-testing, so that the number fuzzer can
# reach its internal readers through @testable import.
module() {
    name=$1 deps=$2
    shift 2
    object="$out/$name.o"
    stale=no
    if [ ! -f "$object" ] || [ -n "$(find "Sources/$name" -newer "$object" -name '*.swift')" ]; then stale=yes; fi
    # Its flags come from there.
    if [ Package.swift -nt "$object" ]; then stale=yes; fi
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
module Platform ""
module HMP "QObject" -enable-testing
module MigrationModel "QObject Platform"
module Machine "QObject Platform MigrationModel"
module Migration "QObject Platform MigrationModel Machine"
base="$out/Platform.o $system_objects"
for target in $targets; do
    case $target in
    stream-loader-fuzz)
        swiftc $flags -module-name StreamLoaderFuzz fuzz/StreamLoaderFuzz.swift fuzz/FuzzScratch.swift \
            "$out/QObject.o" "$out/MigrationModel.o" "$out/Machine.o" "$out/Migration.o" $base -o fuzz/stream-loader-fuzz ;;
    stream-loader-large-fuzz)
        swiftc $flags -module-name StreamLoaderLargeFuzz fuzz/StreamLoaderLargeFuzz.swift fuzz/FuzzScratch.swift \
            "$out/QObject.o" "$out/MigrationModel.o" "$out/Machine.o" "$out/Migration.o" $base -o fuzz/stream-loader-large-fuzz ;;
    line-parser-fuzz)
        module QMP "QObject Platform"
        module Monitor "QObject Platform HMP MigrationModel Machine Migration QMP"
        swiftc $flags -module-name LineParserFuzz fuzz/LineParserFuzz.swift \
            "$out/QObject.o" "$out/HMP.o" "$out/MigrationModel.o" "$out/Machine.o" "$out/Migration.o" "$out/QMP.o" "$out/Monitor.o" $base \
            -ledit -lncursesw -ltinfo -o fuzz/line-parser-fuzz ;;
    number-parser-fuzz)
        swiftc $flags -module-name NumberParserFuzz fuzz/NumberParserFuzz.swift \
            "$out/QObject.o" "$out/HMP.o" "$out/MigrationModel.o" "$out/Machine.o" "$out/Migration.o" $base -o fuzz/number-parser-fuzz ;;
    qmp-framing-fuzz)
        module QMP "QObject Platform"
        swiftc $flags -module-name QMPFramingFuzz fuzz/QMPFramingFuzz.swift \
            "$out/QObject.o" "$out/QMP.o" $base -o fuzz/qmp-framing-fuzz ;;
    *)
        echo "fuzz/build.sh: unknown target $target" >&2
        exit 2 ;;
    esac
done
