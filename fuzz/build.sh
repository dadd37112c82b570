#!/bin/sh
# Builds fuzz/stream-loader-fuzz: QObject, Machine and Migration compiled with libFuzzer coverage and ASan, then
# the entry point. Usage: fuzz/build.sh && fuzz/stream-loader-fuzz -max_total_time=60 fuzz/corpus
set -eu
cd "$(dirname "$0")/.."
out=fuzz/.build
mkdir -p "$out" fuzz/corpus
flags="-swift-version 6 -O -sanitize=fuzzer,address -parse-as-library -I $out -I Sources/CLinux"
flags="$flags -enable-upcoming-feature ExistentialAny -enable-upcoming-feature InternalImportsByDefault"
for module in QObject Machine Migration; do
    swiftc $flags -emit-module -emit-module-path "$out/$module.swiftmodule" -module-name "$module" \
        -emit-object -wmo -o "$out/$module.o" $(find "Sources/$module" -name '*.swift' | sort)
done
swiftc $flags -module-name StreamLoaderFuzz fuzz/StreamLoaderFuzz.swift \
    "$out/QObject.o" "$out/Machine.o" "$out/Migration.o" -o fuzz/stream-loader-fuzz
