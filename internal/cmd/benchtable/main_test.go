package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAndWrite(t *testing.T) {
	in := `goos: linux
BenchmarkScale/Get-vs-plain-2   	      10	  58675122 ns/op	  44282292 backend-max-ns	  33108215 backend-med-ns	  26309257 backend-min-ns	  33669738 backend-ns/op	         1.347 backend/plain	         1.284 backend/plain-med	  34097606 plain-max-ns	  25789345 plain-med-ns	  18352239 plain-min-ns	  25000000 plain-ns/op
BenchmarkScale/Import-2         	      10	        16.00 ns/op	        14.27 import-s	        49.31 reindex-s	      7009 rows/s
BenchmarkScaleLDAP/Get-rsa2048-2	1	100 ns/op	900 pooled-min-ops/s	1000 pooled-med-ops/s	1100 pooled-max-ops/s	80 per-call-min-ops/s	90 per-call-med-ops/s	95 per-call-max-ops/s	11.1 pooled/per-call-med
PASS
`
	var logs, out bytes.Buffer
	rows, err := parse(strings.NewReader(in), &logs)
	require.NoError(t, err)
	require.Len(t, rows, 3)
	write(&out, rows)
	s := out.String()
	assert.Contains(t, s, "| Scale/Get-vs-plain | backend/plain 1.28 | backend: 26.31 ms / 33.11 ms / 44.28 ms; plain: 18.35 ms / 25.79 ms / 34.10 ms |")
	assert.Contains(t, s, "import-s 14.27; reindex-s 49.31; rows/s 7009")
	assert.Contains(t, s, "pooled/per-call 11.1")
	assert.Contains(t, s, "pooled: 900/s / 1000/s / 1100/s")
	assert.Contains(t, logs.String(), "goos: linux")
	assert.Contains(t, logs.String(), "PASS")
}
