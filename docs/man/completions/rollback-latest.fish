complete -c rollback-latest -l image -d 'An image to move (repeatable); replaces ROLLBACK_IMAGES and the defaults' -r
complete -c rollback-latest -l from-tag -d 'The source tag; {sha} is replaced by the 7-character sha' -r
complete -c rollback-latest -l tag -d 'The tag to move' -r
complete -c rollback-latest -l timeout -d 'Overall timeout of each HTTP request, in seconds' -r
complete -c rollback-latest -l dry-run -d 'Show each image\'s current and target digest; change nothing (a table on a terminal, records on a pipe)'
complete -c rollback-latest -l list -d 'List each image\'s staging tags with digests, marking the one latest points at (a table on a terminal, records on a pipe)'
complete -c rollback-latest -l json -d 'Print tag records (JSON lines) on stdout instead of the script\'s lines or a table; people\'s lines then go to stderr'
complete -c rollback-latest -l insecure -d 'Allow plain http to non-loopback registries and token services'
complete -c rollback-latest -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rollback-latest -s V -l version -d 'Print version'
