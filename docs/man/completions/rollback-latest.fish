complete -c rollback-latest -l image -d 'An image to move (repeatable); replaces ROLLBACK_IMAGES and the defaults' -r
complete -c rollback-latest -l from-tag -d 'The source tag; {sha} is replaced by the 7-character sha' -r
complete -c rollback-latest -l tag -d 'The tag to move' -r
complete -c rollback-latest -l limit -d 'With --list: show at most N staging tags per image (the newest)' -r
complete -c rollback-latest -l pin -d 'Change nothing; print, per image, the move request that would point latest at the exact manifest staging-<SHA> is now, expecting latest where it is now. Save it (a job output or artifact) for --pinned' -r
complete -c rollback-latest -l pinned -d 'Apply a file written by --pin: every latest to its pinned digest, all or nothing; refused (exit 1, nothing changed) if any latest moved since the pin (one already at its pinned digest is fine: re-running an applied pin is a no-op). Images come from the file. With --dry-run, show the plan' -r -F
complete -c rollback-latest -l timeout -d 'Deadline for the whole run: 500ms, 30s, 2m, 1h or plain seconds (so the old `--timeout 30` still works). No lookup, retry or move starts after it (a request under way may outlast it by --request-timeout); a move under way is finished or undone, never left half-done. No deadline by default' -r
complete -c rollback-latest -l request-timeout -d 'Limit on each HTTP request (500ms, 30s, 2m, plain seconds). A write given up on after this long is treated as one that may still land' -r
complete -c rollback-latest -l authfile -d 'A containers auth file (docker\'s `auths` format), tried after the environment and docker\'s config.json; default $REGISTRY_AUTH_FILE' -r -F
complete -c rollback-latest -l dry-run -d 'Show each image\'s current and target digest; change nothing (a table on a terminal, records on a pipe)'
complete -c rollback-latest -l list -d 'List each image\'s staging tags, newest first by the image\'s creation time (from its config; for an index, its first platform\'s), with digests, marking the one latest points at (a table on a terminal, records on a pipe)'
complete -c rollback-latest -l json -d 'Print tag records (JSON lines) on stdout instead of the script\'s lines or a table; people\'s lines then go to stderr'
complete -c rollback-latest -l insecure -d 'Allow plain http to non-loopback registries and token services'
complete -c rollback-latest -s v -l verbose -d 'Trace on stderr what the tool does: each HTTP request (method, URL, status, time, bytes, retry) and other steps; -vv adds headers and a body excerpt. Secrets show as ***. RUNNER_DEBUG=1 under GitHub Actions counts as -v'
complete -c rollback-latest -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rollback-latest -s V -l version -d 'Print version'
