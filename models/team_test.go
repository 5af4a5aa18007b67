package models_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
)

func newMember(t *testing.T, s *models.Store, accountID string, role models.Role) *models.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), accountID, strings.ToLower(models.NewID("m"))+"@example.com", "a long enough password", role)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func as(u *models.User) models.Actor { return models.Actor{UserID: u.ID, Label: u.Email} }

func countOwners(t *testing.T, s *models.Store, accountID string) int {
	t.Helper()
	ms, err := s.Members(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if m.Role == models.RoleOwner {
			n++
		}
	}
	return n
}

// TestLastOwnerIsRaceSafe: two owners demoting each other (or themselves) at
// the same moment leave exactly one owner, round after round; the loser
// gets ErrLastOwner.
func TestLastOwnerIsRaceSafe(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, nil)
	acc := newAccount(t, s)
	a, b := newMember(t, s, acc.ID, models.RoleOwner), newMember(t, s, acc.ID, models.RoleOwner)
	for round := 0; round < 15; round++ {
		self := round%2 == 1
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, pair := range [][2]*models.User{{a, b}, {b, a}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				// Each demotes itself, which only the other's staying owner allows.
				if self {
					_, errs[i] = s.ChangeUserRole(ctx, acc.ID, as(pair[0]), pair[0].ID, models.RoleViewer)
				} else {
					_, errs[i] = s.ChangeUserRole(ctx, acc.ID, as(pair[0]), pair[1].ID, models.RoleAdmin)
				}
			}()
		}
		close(start)
		wg.Wait()
		if n := countOwners(t, s, acc.ID); n != 1 {
			t.Fatalf("round %d: %d owners left (errors %v)", round, n, errs)
		}
		failed := 0
		for _, err := range errs {
			switch {
			case err == nil:
			case errors.Is(err, models.ErrLastOwner), errors.Is(err, fault.ErrForbidden): // the demoted one may no longer change roles
				failed++
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if failed != 1 {
			t.Fatalf("round %d: %d of 2 refused, want 1 (%v)", round, failed, errs)
		}
		// Make both owners again for the next round.
		for _, u := range []*models.User{a, b} {
			if err := s.DB().Model(&models.User{}).Where("id = ?", u.ID).Update("role", models.RoleOwner).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestInviteLifecycle: a pending invite becomes one user with its role;
// the link then, or after expiry or revocation, is refused with why.
func TestInviteLifecycle(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Now().UTC()}
	s := newStore(t, clock.now)
	acc := newAccount(t, s)
	owner := newMember(t, s, acc.ID, models.RoleOwner)
	viewer := newMember(t, s, acc.ID, models.RoleViewer)

	if _, _, err := s.CreateInvite(ctx, acc.ID, as(viewer), "x@example.com", models.RoleViewer); !errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("a viewer invited: %v", err)
	}
	inv, token, err := s.CreateInvite(ctx, acc.ID, as(owner), "New.Person@Example.com", models.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Email != "new.person@example.com" || inv.State(clock.now()) != models.InvitePending || strings.Contains(string(inv.TokenHash), token) {
		t.Fatalf("invite %+v", inv)
	}
	got, gotAcc, err := s.InviteByToken(ctx, token)
	if err != nil || got.ID != inv.ID || gotAcc.ID != acc.ID {
		t.Fatalf("by token: %v %v", got, err)
	}
	u, err := s.AcceptInvite(ctx, token, "a long enough password")
	if err != nil || u.Role != models.RoleAdmin || u.AccountID != acc.ID || u.Email != inv.Email {
		t.Fatalf("accept: %+v %v", u, err)
	}
	if _, err := s.AcceptInvite(ctx, token, "a long enough password"); !errors.Is(err, fault.ErrFinished) || !strings.Contains(fault.Message(err), "already been used") {
		t.Fatalf("second accept: %v", err)
	}

	late, lateToken, err := s.CreateInvite(ctx, acc.ID, as(owner), "late@example.com", models.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	clock.add(models.InviteTTL)
	if late.State(clock.now()) != models.InviteExpired {
		t.Fatal("not expired after InviteTTL")
	}
	if _, err := s.AcceptInvite(ctx, lateToken, "a long enough password"); !errors.Is(err, fault.ErrFinished) || !strings.Contains(fault.Message(err), "expired") {
		t.Fatalf("expired accept: %v", err)
	}
	if err := s.RevokeInvite(ctx, acc.ID, as(owner), late.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeInvite(ctx, acc.ID, as(owner), late.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
	if _, err := s.AcceptInvite(ctx, lateToken, "a long enough password"); !errors.Is(err, fault.ErrFinished) {
		t.Fatalf("revoked accept: %v", err)
	}
	if _, err := s.AcceptInvite(ctx, "no-such-token", "a long enough password"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	open, err := s.OpenInvites(ctx, acc.ID)
	if err != nil || len(open) != 0 {
		t.Fatalf("open invites %v %v", open, err)
	}
}

// TestAccountSettingsStore: defaults for a new account, validation of
// every field at once, and the saved values read back.
func TestAccountSettingsStore(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, nil)
	acc := newAccount(t, s)
	if acc.SecretGrace() != models.SecretOverlap || acc.HistoryRetentionDays != models.DefaultHistoryRetentionDays {
		t.Fatalf("new account: grace %s, retention %d", acc.SecretGrace(), acc.HistoryRetentionDays)
	}
	_, err := s.UpdateAccountSettings(ctx, acc.ID, models.Actor{Label: "t"}, models.AccountSettings{
		Name: "", TimeZone: "Local", DefaultCountry: "XX", SecretGrace: 30 * time.Minute, HistoryRetentionDays: 0})
	var fe models.FieldErrors
	if !errors.As(err, &fe) || len(fe) != 5 {
		t.Fatalf("want five field errors, got %v", err)
	}
	a, err := s.UpdateAccountSettings(ctx, acc.ID, models.Actor{Label: "t"}, models.AccountSettings{
		Name: " Renamed ", TimeZone: "Europe/Dublin", DefaultCountry: "gb", SecretGrace: 0, HistoryRetentionDays: 365})
	if err != nil {
		t.Fatal(err)
	}
	back, err := s.Account(ctx, acc.ID)
	if err != nil || back.Settings() != a.Settings() || back.Name != "Renamed" || back.DefaultCountry != "GB" || back.SecretGrace() != 0 {
		t.Fatalf("read back %+v (%v), saved %+v", back, err, a)
	}
}
