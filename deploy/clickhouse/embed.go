// Package clickhouse holds the versioned migrations of Sift's history schema
// in ClickHouse: NNNN_name.sql, applied in order by `sift serve` on start and
// by `sift history migrate`. A migration is never edited once released;
// changes come as a new file.
package clickhouse

import "embed"

// Migrations are the *.sql files of this directory.
//
//go:embed *.sql
var Migrations embed.FS
