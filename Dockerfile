# Multi-stage build: a static backstop binary in a small image, the data
# directory as a volume.
#   docker build -t backstop .
#   docker run -d --name backstop -v backstop-data:/data \
#     -p 8443:8443 -p 9387:9387 -p 445:445 -p 3260:3260 -p 9389:9389 backstop
# README.md ("The container") says what each port is and what 445 needs.
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
# web UI and REST API (HTTPS), Catalyst, SMB, iSCSI, replication: serve's
# default addresses (--web, --catalyst, --smb, --iscsi, --replication).
EXPOSE 8443/tcp 9387/tcp 445/tcp 3260/tcp 9389/tcp
# The image has no shell, curl or wget: backstop health asks the web
# server itself (without BACKSTOP_PASSWORD: does it answer; with it: is
# the appliance's health not "failed").
HEALTHCHECK --interval=30s --timeout=25s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/backstop", "health", "--insecure", "--url", "https://127.0.0.1:8443/api/v1/health"]
ENTRYPOINT ["/usr/local/bin/backstop"]
CMD ["serve", "--data", "/data"]
