package chunkstore

import (
	"bytes"
	"context"
	"testing"
	"testing/iotest"
)

// A source whose last read returns data with io.EOF (an HTTP body does)
// and ends on a readahead block boundary is read again after its EOF:
// ReadFrom must take that second EOF quietly.
func TestReadFromDataWithEOF(t *testing.T) {
	e := openTest(t, t.TempDir(), testOptions())
	defer e.Close()
	ctx := context.Background()
	data := testData(7, 2*readaheadBlock)
	w, err := e.Create(ctx, DefaultStore, "eof", WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.ReadFrom(iotest.DataErrReader(bytes.NewReader(data))); err != nil || n != int64(len(data)) {
		t.Fatalf("ReadFrom = %d, %v", n, err)
	}
	it, err := w.Commit(ctx)
	if err != nil || it.Size != int64(len(data)) {
		t.Fatalf("Commit = %+v, %v", it, err)
	}
}
