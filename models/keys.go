package models

import (
	"cmp"
	"strings"

	"gorm.io/gorm"
)

// deliveryKeys names deliveries by account and id, the primary key, for
// statements that take a set of them: the two arrays unnest into
// (account_id, id) pairs (deliveryKeysSQL), so every lookup reads the
// primary key and stays within each delivery's account.
type deliveryKeys struct {
	accounts []string
	ids      []int64
}

// deliveryKeysSQL is the set named by the @key_accounts and @key_ids
// parameters (deliveryKeys.args), as rows of (account_id, id).
const deliveryKeysSQL = `SELECT * FROM unnest(CAST(@key_accounts AS text[]), CAST(@key_ids AS bigint[])) AS k(account_id, id)`

func (k *deliveryKeys) add(accountID string, id int64) {
	k.accounts = append(k.accounts, accountID)
	k.ids = append(k.ids, id)
}

func (k deliveryKeys) len() int { return len(k.ids) }

// args adds the parameters of deliveryKeysSQL to m and returns it.
func (k deliveryKeys) args(m map[string]any) map[string]any {
	m["key_accounts"], m["key_ids"] = pgArray[string](k.accounts), pgArray[int64](k.ids)
	return m
}

// deliveryCursor is a position in a walk of every account's deliveries in
// primary-key order; the zero value is before the first.
type deliveryCursor struct {
	accountID string
	id        int64
}

// saveLease writes the named columns of d, found by its primary key.
func saveLease(tx *gorm.DB, d *Delivery, columns ...string) error {
	return tx.Model(d).Where("account_id = ?", d.AccountID).Select(columns).Updates(d).Error
}

// hookKey is a webhook's primary key. Statements return it as
// (account_id, webhook_id); the zero value sorts before every webhook (the
// start of a walk of every account's webhooks).
type hookKey struct {
	AccountID string
	WebhookID string
}

// compare orders keys as the primary key does.
func (k hookKey) compare(o hookKey) int {
	return cmp.Or(strings.Compare(k.AccountID, o.AccountID), strings.Compare(k.WebhookID, o.WebhookID))
}

// hookKeys names the webhooks that statements lock or write as a set (the
// recorder's streaks, the due set, the breaker's probes): each webhook is
// reached through its account, as a table distributed by account_id needs.
type hookKeys []hookKey

// hookKeysSQL is the set named by @hook_accounts and @hook_ids
// (hookKeys.args), as rows of (account_id, id).
const hookKeysSQL = `SELECT * FROM unnest(CAST(@hook_accounts AS text[]), CAST(@hook_ids AS text[])) AS h(account_id, id)`

// lockHooks locks the webhooks named by hookKeysSQL that also meet cond
// ("" or " AND …") in primary-key order, the order in which every
// statement that writes several webhook rows locks them, so two writers
// never deadlock. (The lock is taken as each sorted row is emitted; FOR NO
// KEY UPDATE does not block the foreign-key checks of deliveries inserted
// meanwhile.)
func lockHooks(cond string) string {
	return `SELECT account_id, id FROM webhooks WHERE (account_id, id) IN (` + hookKeysSQL + `)` + cond + `
	ORDER BY account_id, id FOR NO KEY UPDATE`
}

// lockHooksInOrder locks every webhook named by hookKeysSQL.
var lockHooksInOrder = lockHooks("")

// distinct returns the keys without repeats, in first-seen order.
func (k hookKeys) distinct() hookKeys {
	seen := make(map[hookKey]bool, len(k))
	var out hookKeys
	for _, h := range k {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

// args adds the parameters of hookKeysSQL to m and returns it.
func (k hookKeys) args(m map[string]any) map[string]any {
	accounts, ids := make([]string, len(k)), make([]string, len(k))
	for i, h := range k {
		accounts[i], ids[i] = h.AccountID, h.WebhookID
	}
	m["hook_accounts"], m["hook_ids"] = pgArray[string](accounts), pgArray[string](ids)
	return m
}
