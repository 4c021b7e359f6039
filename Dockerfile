# Multi-stage build: a static backstop binary in a small image, the data
# directory as a volume.
#   docker build -t backstop .
#   docker run -v backstop-data:/data backstop
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/backstop ./cmd/backstop \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/backstop /usr/local/bin/backstop
COPY --from=build --chown=65532:65532 /out/data /data
ENV BACKSTOP_DATA=/data
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/backstop"]
CMD ["serve", "--data", "/data"]
