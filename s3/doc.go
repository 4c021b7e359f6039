// Package s3 is the S3 front end: buckets are stores, objects are items,
// every byte deduplicated by the engine against everything in its domain.
//
// # Wire
//
// HTTP/1.1 (TLS with the appliance certificate unless the administrator
// asks for plain HTTP), path-style requests (/BUCKET/KEY), XML bodies in
// the 2006-03-01 namespace, errors as <Error><Code>. Every request is
// signed with SigV4 in the Authorization header; anonymous requests and
// presigned URLs are refused. The payload is one of: a hex SHA-256 the
// body must match, UNSIGNED-PAYLOAD, or aws-chunked frames
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] with a signature per
// chunk chained from the request's, STREAMING-UNSIGNED-PAYLOAD-TRAILER),
// with Content-MD5 and x-amz-checksum-{crc32,crc32c,sha1,sha256} (header
// or trailer) checked at the end of the body, before the commit.
//
// # Mapping onto the engine
//
// Bucket B is store "s3.B" (appliance.BucketPrefix) in the server's dedup
// domain, its client list the user who made it: the appliance's one
// policy (appliance.ViaS3) decides every request. Object K is item K; its
// ETag (MD5 of the body, or MD5-of-part-MD5s-N), Content-Type and
// x-amz-meta-* are item metadata (s3.etag, s3.content-type, s3.meta.*),
// committed with the data. A multipart upload ID keeps item
// ".s3-multipart/ID/info" (the key and metadata) and one item per part,
// ".s3-multipart/ID/NNNNN"; completion splices the parts' recipes into
// the object (chunkstore.Writer.Splice: whole chunks as recipe entries,
// only the edge chunks' bytes written again) and then deletes the parts.
// Keys under ".s3-multipart/" are refused and never listed. A bucket's
// default retention (Object Lock configuration, COMPLIANCE mode) is its
// store's ImmutableDays, enforced by the engine for every door.
//
// # Acknowledgment
//
// PUT, UploadPart and CompleteMultipartUpload answer 200 only after
// chunkstore.Writer.Commit returned: the data and the index entries that
// find it are durable. A body that fails its signature or checksum is
// aborted and leaves nothing.
package s3
