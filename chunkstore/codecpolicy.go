package chunkstore

import "github.com/backstop-appliance/backstop/chunkstore/container"

// newCodecPolicy is a stream's compression policy (container.Policy, the
// "auto" of docs/decisions.md "Compression"): the engine's fixed codec, or
// auto starting from the last verdict of any of the engine's streams.
func (e *Engine) newCodecPolicy() *container.Policy {
	return container.NewPolicy(e.auto, e.codec, &e.autoZstd, e.autoWindow, e.opts.Now)
}
