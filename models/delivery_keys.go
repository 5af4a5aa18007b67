package models

import "gorm.io/gorm"

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
