package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// postWebhook posts m as JSON to w.URL, retrying with exponential
// back-off (RetryBase doubled up to RetryMax) on a transport error or a
// 408, 429 or 5xx answer, up to w.Attempts times.
func (d *Dispatcher) postWebhook(ctx context.Context, w appliance.WebhookTarget, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("alert: encode: %w", err)
	}
	u, err := url.Parse(w.URL)
	if err != nil {
		return fmt.Errorf("%w: url: %v", ErrDelivery, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if tr.TLSClientConfig, err = tlsConfig(u.Hostname(), w.CAPEM); err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	timeout := time.Duration(w.TimeoutSeconds) * time.Second
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	client := &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	attempts := w.Attempts
	if attempts == 0 {
		attempts = 5
	}
	wait := d.opts.RetryBase
	for i := 1; ; i++ {
		retry, err := postOnce(ctx, client, w.URL, body)
		if err == nil {
			return nil
		}
		if !retry || i >= attempts {
			return fmt.Errorf("%w: webhook %s after %d attempts: %v", ErrDelivery, u.Redacted(), i, err)
		}
		d.log.Warn("alert: webhook attempt failed, retrying", "url", u.Redacted(), "attempt", i, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: webhook %s: %w", ErrDelivery, u.Redacted(), ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, d.opts.RetryMax)
	}
}

// postOnce makes one attempt; retry says whether another may succeed.
func postOnce(ctx context.Context, client *http.Client, url string, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "backstop-alert/1")
	resp, err := client.Do(req)
	if err != nil {
		return ctx.Err() == nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	c := resp.StatusCode
	return c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500, fmt.Errorf("answer %s", resp.Status)
}
