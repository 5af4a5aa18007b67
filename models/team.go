package models

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ringhook/ringhook/models/fault"
)

// InviteTTL is how long an invite link works.
const InviteTTL = 7 * 24 * time.Hour

// Invite asks someone, by email, to join an account with a role. The link's
// token is shown once to the inviter; only its SHA-256 is stored.
type Invite struct {
	ID         string
	AccountID  string
	Email      string
	Role       Role
	TokenHash  []byte
	InvitedBy  string // the inviter's email
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	RevokedAt  *time.Time
	UserID     *string // the user the invite became
}

// InviteState is where an invite stands.
type InviteState string

// The invite states: only a pending invite can be accepted or revoked.
const (
	InvitePending  InviteState = "pending"
	InviteAccepted InviteState = "accepted"
	InviteRevoked  InviteState = "revoked"
	InviteExpired  InviteState = "expired"
)

// State says where the invite stands at now.
func (i *Invite) State(now time.Time) InviteState {
	switch {
	case i.AcceptedAt != nil:
		return InviteAccepted
	case i.RevokedAt != nil:
		return InviteRevoked
	case !now.Before(i.ExpiresAt):
		return InviteExpired
	}
	return InvitePending
}

// ErrLastOwner refuses a change that would leave an account without an owner.
var ErrLastOwner = fault.Errorf(fault.ErrInvalid, "An account always keeps at least one owner: make someone else an owner first.")

// MayChangeMember is the team policy (docs/architecture.md, "Roles"): may
// a member with role actor give (or take away) role target? Owners may
// touch anyone; admins may invite, and remove, admins and viewers; viewers
// may do neither.
func MayChangeMember(actor, target Role) bool {
	switch actor {
	case RoleOwner:
		return true
	case RoleAdmin:
		return target == RoleAdmin || target == RoleViewer
	}
	return false
}

// Members lists the account's users, owners first, then by email.
func (s *Store) Members(ctx context.Context, accountID string) ([]User, error) {
	var out []User
	err := s.db.WithContext(ctx).Where("account_id = ?", accountID).
		Order("CASE role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, lower(email)").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return out, nil
}

// OpenInvites lists the account's invites that were neither accepted nor
// revoked, expired ones included (State tells them apart), newest first.
func (s *Store) OpenInvites(ctx context.Context, accountID string) ([]Invite, error) {
	var out []Invite
	err := s.db.WithContext(ctx).Where("account_id = ? AND accepted_at IS NULL AND revoked_at IS NULL", accountID).
		Order("created_at DESC, id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list invites: %w", err)
	}
	return out, nil
}

// teamTx runs fn in a transaction that holds the account's row lock, so
// team changes of one account happen one at a time (two owners demoting
// each other cannot both pass the last-owner check), with the acting
// user as the database has them now. A caller who is no longer a member
// gets ErrForbidden.
func (s *Store) teamTx(ctx context.Context, accountID string, who Actor, fn func(tx *gorm.DB, actor *User) error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// NO KEY UPDATE: inserts referencing the account (events,
		// deliveries) take KEY SHARE and are not held up.
		var id string
		if err := tx.Raw(`SELECT id FROM accounts WHERE id = ? FOR NO KEY UPDATE`, accountID).Scan(&id).Error; err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		if id == "" {
			return ErrNotFound
		}
		var actor User
		if !validID(who.UserID) {
			return fault.ErrForbidden
		}
		err := tx.Where("id = ? AND account_id = ?", who.UserID, accountID).Take(&actor).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fault.ErrForbidden
		}
		if err != nil {
			return fmt.Errorf("load acting user: %w", err)
		}
		if !actor.Role.CanManageTeam() {
			return fault.Errorf(fault.ErrForbidden, "Only owners and admins manage the team.")
		}
		return fn(tx, &actor)
	})
}

// normalEmail lower-cases and checks an email address.
func normalEmail(email string) (string, FieldErrors) {
	email = strings.ToLower(strings.TrimSpace(email))
	fe := FieldErrors{}
	if !fe.CheckText("email", email) {
		return email, fe
	}
	if email == "" {
		fe.Add("email", "Enter the email address to invite.")
	} else if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || len(email) > 254 {
		fe.Add("email", "Enter a valid email address, such as name@example.com.")
	}
	return email, fe
}

// CreateInvite invites email to the account with role and returns the
// invite and its token, which is not kept: the link is shown once. An
// earlier open invite for the same email is revoked. Refused with a field
// error when the email already signs in (emails are unique across
// Ringhook), and with ErrForbidden when who may not give role.
func (s *Store) CreateInvite(ctx context.Context, accountID string, who Actor, email string, role Role) (*Invite, string, error) {
	email, fe := normalEmail(email)
	if !role.Valid() {
		fe.Add("role", "Choose owner, admin or viewer.")
	}
	if err := fe.Err(); err != nil {
		return nil, "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", fmt.Errorf("invite token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	inv := &Invite{ID: NewID("inv_"), AccountID: accountID, Email: email, Role: role, TokenHash: hashKey(token),
		InvitedBy: who.Label, CreatedAt: now, ExpiresAt: now.Add(InviteTTL)}
	err := s.teamTx(ctx, accountID, who, func(tx *gorm.DB, actor *User) error {
		if !MayChangeMember(actor.Role, role) {
			return fault.Errorf(fault.ErrForbidden, "Only an owner can invite another owner.")
		}
		var existing []User
		if err := tx.Where("lower(email) = ?", email).Limit(1).Find(&existing).Error; err != nil {
			return fmt.Errorf("check email: %w", err)
		}
		if len(existing) > 0 {
			if existing[0].AccountID == accountID {
				return FieldErrors{"email": "This person is already a member of this account."}
			}
			// Emails are unique across Ringhook (one sign-in, one account).
			return FieldErrors{"email": "This email already signs in to another Ringhook account; invite a different address."}
		}
		if err := tx.Model(&Invite{}).Where("account_id = ? AND lower(email) = ? AND accepted_at IS NULL AND revoked_at IS NULL", accountID, email).
			Update("revoked_at", now).Error; err != nil {
			return fmt.Errorf("replace earlier invite: %w", err)
		}
		if err := tx.Create(inv).Error; err != nil {
			return fmt.Errorf("create invite: %w", err)
		}
		return audit(tx, accountID, who, "user.invited", "invite", inv.ID, nil,
			map[string]any{"email": email, "role": string(role), "expires_at": inv.ExpiresAt}, now)
	})
	if err != nil {
		return nil, "", err
	}
	return inv, token, nil
}

// InviteByToken finds the invite a link's token belongs to, in any state,
// with its account. Like LiveSession it is not account-scoped: the token
// is the credential. ErrNotFound when no invite has it.
func (s *Store) InviteByToken(ctx context.Context, token string) (*Invite, *Account, error) {
	if token == "" || len(token) > 100 {
		return nil, nil, ErrNotFound
	}
	var inv Invite
	if err := s.db.WithContext(ctx).Where("token_hash = ?", hashKey(token)).Take(&inv).Error; err != nil {
		return nil, nil, fmt.Errorf("get invite: %w", notFound(err))
	}
	acc, err := s.Account(ctx, inv.AccountID)
	if err != nil {
		return nil, nil, err
	}
	return &inv, acc, nil
}

// InviteClosedMessage says why an invite in state st cannot be used.
func InviteClosedMessage(st InviteState) string {
	switch st {
	case InviteAccepted:
		return "This invite has already been used. Sign in with the password chosen then."
	case InviteRevoked:
		return "This invite was revoked. Ask the person who invited you for a new one."
	case InviteExpired:
		return fmt.Sprintf("This invite has expired (links work for %d days). Ask the person who invited you for a new one.", int(InviteTTL/(24*time.Hour)))
	}
	return ""
}

// AcceptInvite turns a pending invite into a user with the invite's email
// and role and the chosen password. The invite row is locked, so a link
// used twice at once makes one user; an invite that is no longer pending
// is a fault.Error of kind fault.ErrFinished saying why.
func (s *Store) AcceptInvite(ctx context.Context, token, password string) (*User, error) {
	if msg := passwordProblem(password); msg != "" {
		return nil, FieldErrors{"password": msg}
	}
	hash, err := bcryptHash(password)
	if err != nil {
		return nil, err
	}
	if token == "" || len(token) > 100 {
		return nil, ErrNotFound
	}
	var u User
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The token finds the invite; the lock (two accepts at once make
		// one user) names its account.
		var inv Invite
		if err := tx.Select("account_id", "id").Where("token_hash = ?", hashKey(token)).Take(&inv).Error; err != nil {
			return fmt.Errorf("accept invite: %w", notFound(err))
		}
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("account_id = ? AND id = ?", inv.AccountID, inv.ID).Take(&inv).Error; err != nil {
			return fmt.Errorf("accept invite: %w", notFound(err))
		}
		now := s.now()
		if st := inv.State(now); st != InvitePending {
			return fault.Errorf(fault.ErrFinished, "%s", InviteClosedMessage(st))
		}
		u = User{ID: NewID("usr_"), AccountID: inv.AccountID, Email: inv.Email, PasswordHash: hash, Role: inv.Role, CreatedAt: now}
		if err := tx.Create(&u).Error; err != nil {
			if isUniqueViolation(err) {
				return FieldErrors{"email": "This email already signs in to a Ringhook account; ask for an invite to another address."}
			}
			return fmt.Errorf("create user: %w", err)
		}
		if err := tx.Model(&Invite{}).Where("account_id = ? AND id = ?", inv.AccountID, inv.ID).Updates(map[string]any{"accepted_at": now, "user_id": u.ID}).Error; err != nil {
			return fmt.Errorf("accept invite: %w", err)
		}
		return audit(tx, inv.AccountID, Actor{UserID: u.ID, Label: u.Email}, "user.joined", "user", u.ID, nil,
			map[string]any{"email": u.Email, "role": string(u.Role), "invite": inv.ID, "invited_by": inv.InvitedBy}, now)
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// RevokeInvite makes an open invite's link stop working; ErrNotFound when
// the account has no open invite with that id.
func (s *Store) RevokeInvite(ctx context.Context, accountID string, who Actor, inviteID string) error {
	if !validID(inviteID) {
		return ErrNotFound
	}
	return s.teamTx(ctx, accountID, who, func(tx *gorm.DB, _ *User) error {
		var inv Invite
		if err := tx.Where("id = ? AND account_id = ? AND accepted_at IS NULL AND revoked_at IS NULL", inviteID, accountID).Take(&inv).Error; err != nil {
			return fmt.Errorf("revoke invite: %w", notFound(err))
		}
		now := s.now()
		if err := tx.Model(&Invite{}).Where("account_id = ? AND id = ?", inv.AccountID, inv.ID).Update("revoked_at", now).Error; err != nil {
			return fmt.Errorf("revoke invite: %w", err)
		}
		return audit(tx, accountID, who, "user.invite_revoked", "invite", inv.ID,
			map[string]any{"email": inv.Email, "role": string(inv.Role)}, nil, now)
	})
}

// member loads one user of the account for update.
func member(tx *gorm.DB, accountID, userID string) (*User, error) {
	if !validID(userID) {
		return nil, ErrNotFound
	}
	var u User
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ? AND account_id = ?", userID, accountID).Take(&u).Error; err != nil {
		return nil, fmt.Errorf("get member: %w", notFound(err))
	}
	return &u, nil
}

// otherOwners counts the account's owners besides userID.
func otherOwners(tx *gorm.DB, accountID, userID string) (int64, error) {
	var n int64
	if err := tx.Model(&User{}).Where("account_id = ? AND role = ? AND id <> ?", accountID, RoleOwner, userID).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count owners: %w", err)
	}
	return n, nil
}

// ChangeUserRole gives a member of the account a new role. Only owners
// change roles; the last owner cannot be demoted (ErrLastOwner). The new
// role applies from the member's next request (roles are read on each).
func (s *Store) ChangeUserRole(ctx context.Context, accountID string, who Actor, userID string, role Role) (*User, error) {
	if !role.Valid() {
		return nil, FieldErrors{"role": "Choose owner, admin or viewer."}
	}
	var u *User
	err := s.teamTx(ctx, accountID, who, func(tx *gorm.DB, actor *User) error {
		if actor.Role != RoleOwner {
			return fault.Errorf(fault.ErrForbidden, "Only an owner can change roles.")
		}
		var err error
		if u, err = member(tx, accountID, userID); err != nil {
			return err
		}
		if u.Role == role {
			return nil
		}
		if u.Role == RoleOwner {
			if n, err := otherOwners(tx, accountID, u.ID); err != nil {
				return err
			} else if n == 0 {
				return ErrLastOwner
			}
		}
		before := map[string]any{"email": u.Email, "role": string(u.Role)}
		if err := tx.Model(&User{}).Where("account_id = ? AND id = ?", u.AccountID, u.ID).Update("role", role).Error; err != nil {
			return fmt.Errorf("change role: %w", err)
		}
		u.Role = role
		return audit(tx, accountID, who, "user.role_changed", "user", u.ID, before, map[string]any{"email": u.Email, "role": string(role)}, s.now())
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// RemoveUser takes a member out of the account: their sessions end and
// the user is deleted, so the email can be invited again. Admins remove
// admins and viewers, owners anyone but the last owner (ErrLastOwner);
// nobody removes themselves here.
func (s *Store) RemoveUser(ctx context.Context, accountID string, who Actor, userID string) (*User, error) {
	var u *User
	err := s.teamTx(ctx, accountID, who, func(tx *gorm.DB, actor *User) error {
		var err error
		if u, err = member(tx, accountID, userID); err != nil {
			return err
		}
		if u.ID == actor.ID {
			return fault.Errorf(fault.ErrForbidden, "You cannot remove yourself; ask another owner to do it.")
		}
		if !MayChangeMember(actor.Role, u.Role) {
			return fault.Errorf(fault.ErrForbidden, "Only an owner can remove an owner.")
		}
		if u.Role == RoleOwner {
			if n, err := otherOwners(tx, accountID, u.ID); err != nil {
				return err
			} else if n == 0 {
				return ErrLastOwner
			}
		}
		now := s.now()
		if _, err := revokeUserSessions(tx, accountID, u.ID, "", now); err != nil {
			return err
		}
		if err := tx.Where("id = ? AND account_id = ?", u.ID, accountID).Delete(&User{}).Error; err != nil {
			return fmt.Errorf("remove user: %w", err)
		}
		return audit(tx, accountID, who, "user.removed", "user", u.ID, map[string]any{"email": u.Email, "role": string(u.Role)}, nil, now)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
