package payload

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ringhook/ringhook/models"
)

// Sign returns the Standard Webhooks signature "v1,<base64>" of content: the
// HMAC-SHA256, keyed with the base64-decoded part of secret after "whsec_",
// of msgID + "." + ts in Unix seconds + "." + content.
func Sign(secret, msgID string, ts time.Time, content []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	if msgID == "" {
		return "", errors.New("sign: message id is empty")
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, msgID, ts.Unix(), content)), nil
}

// SignatureHeader returns the webhook-signature header value: one v1
// signature per secret, space-separated, so that during a rotation receivers
// holding either the old or the new secret can verify.
func SignatureHeader(secrets []string, msgID string, ts time.Time, content []byte) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("signature header: no secrets")
	}
	sigs := make([]string, 0, len(secrets))
	for i, s := range secrets {
		sig, err := Sign(s, msgID, ts, content)
		if err != nil {
			return "", fmt.Errorf("signature header: secret %d: %w", i+1, err)
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// SignedContent returns what a delivery's signature covers: the body for
// POST and the full URL, query included, for GET. The POST body is returned
// as is, not copied.
func SignedContent(r Request) []byte {
	if strings.EqualFold(r.Method, http.MethodGet) {
		return []byte(r.URL)
	}
	return r.Body
}

func decodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, models.SigningSecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("decode secret: %w", err)
	}
	if len(key) == 0 {
		return nil, errors.New("decode secret: empty key")
	}
	return key, nil
}

func mac(key []byte, msgID string, unix int64, content []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msgID))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, unix, 10))
	h.Write([]byte{'.'})
	h.Write(content)
	return h.Sum(nil)
}
