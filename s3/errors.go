package s3

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

// The errors of requests, each answered with its S3 error code (codes).
var (
	errAnonymous      = errors.New("s3: anonymous access is refused; sign requests with an access key")
	errAuthHeader     = errors.New("s3: malformed authorization")
	errSkew           = errors.New("s3: request time too far from the appliance's clock")
	errUnknownKey     = errors.New("s3: unknown access key")
	errSignature      = errors.New("s3: signature does not match")
	errChunk          = errors.New("s3: malformed aws-chunked body")
	errContentSHA256  = errors.New("s3: payload does not match x-amz-content-sha256")
	errBadDigest      = errors.New("s3: payload does not match Content-MD5")
	errBadChecksum    = errors.New("s3: payload does not match its x-amz-checksum")
	errNoBucket       = errors.New("s3: no such bucket")
	errNoKey          = errors.New("s3: no such key")
	errBucketNotEmpty = errors.New("s3: bucket is not empty")
	errBucketExists   = errors.New("s3: bucket already exists")
	errBucketName     = errors.New("s3: invalid bucket name")
	errKeyName        = errors.New("s3: invalid object key")
	errRange          = errors.New("s3: range not satisfiable")
	errNoUpload       = errors.New("s3: no such upload")
	errPart           = errors.New("s3: invalid part")
	errPartOrder      = errors.New("s3: parts not in ascending order")
	errPartTooSmall   = errors.New("s3: part too small")
	errArgument       = errors.New("s3: invalid argument")
	errXML            = errors.New("s3: malformed XML")
	errNotImplemented = errors.New("s3: not implemented")
	errPrecondition   = errors.New("s3: precondition failed")
	errNotModified    = errors.New("s3: not modified")
)

// apiError is an error as S3 words it.
type apiError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
	status    int
}

// codes maps the sentinels to S3's codes and HTTP statuses.
var codes = []struct {
	err    error
	code   string
	status int
}{
	{errAnonymous, "AccessDenied", http.StatusForbidden},
	{errAuthHeader, "AuthorizationHeaderMalformed", http.StatusBadRequest},
	{errSkew, "RequestTimeTooSkewed", http.StatusForbidden},
	{errUnknownKey, "InvalidAccessKeyId", http.StatusForbidden},
	{errSignature, "SignatureDoesNotMatch", http.StatusForbidden},
	{errChunk, "IncompleteBody", http.StatusBadRequest},
	{errContentSHA256, "XAmzContentSHA256Mismatch", http.StatusBadRequest},
	{errBadDigest, "BadDigest", http.StatusBadRequest},
	{errBadChecksum, "BadDigest", http.StatusBadRequest},
	{errNoBucket, "NoSuchBucket", http.StatusNotFound},
	{errNoKey, "NoSuchKey", http.StatusNotFound},
	{errBucketNotEmpty, "BucketNotEmpty", http.StatusConflict},
	{errBucketExists, "BucketAlreadyExists", http.StatusConflict},
	{errBucketName, "InvalidBucketName", http.StatusBadRequest},
	{errKeyName, "KeyTooLongError", http.StatusBadRequest},
	{errRange, "InvalidRange", http.StatusRequestedRangeNotSatisfiable},
	{errNoUpload, "NoSuchUpload", http.StatusNotFound},
	{errPart, "InvalidPart", http.StatusBadRequest},
	{errPartOrder, "InvalidPartOrder", http.StatusBadRequest},
	{errPartTooSmall, "EntityTooSmall", http.StatusBadRequest},
	{errArgument, "InvalidArgument", http.StatusBadRequest},
	{errXML, "MalformedXML", http.StatusBadRequest},
	{errNotImplemented, "NotImplemented", http.StatusNotImplemented},
	{errPrecondition, "PreconditionFailed", http.StatusPreconditionFailed},
	{errNotModified, "NotModified", http.StatusNotModified},
	{errNoLockConfig, "ObjectLockConfigurationNotFoundError", http.StatusNotFound},
	{appliance.ErrForbidden, "AccessDenied", http.StatusForbidden},
	{chunkstore.ErrImmutable, "AccessDenied", http.StatusForbidden},
	{chunkstore.ErrReadOnly, "AccessDenied", http.StatusForbidden},
	{chunkstore.ErrNotEmpty, "BucketNotEmpty", http.StatusConflict},
	{chunkstore.ErrFull, "InsufficientStorage", http.StatusInsufficientStorage},
	{chunkstore.ErrBusy, "OperationAborted", http.StatusConflict},
	{chunkstore.ErrNotFound, "NoSuchKey", http.StatusNotFound},
	{chunkstore.ErrInvalid, "InvalidArgument", http.StatusBadRequest},
	{context.Canceled, "RequestTimeout", http.StatusBadRequest},
}

// toAPI words err for the client.
func toAPI(err error, resource string) apiError {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return apiError{Code: c.code, Message: err.Error(), Resource: resource, status: c.status}
		}
	}
	return apiError{Code: "InternalError", Message: "s3: internal error", Resource: resource, status: http.StatusInternalServerError}
}
