package models_test

import (
	"testing"

	"github.com/ringhook/ringhook/models"
)

func TestRole(t *testing.T) {
	cases := []struct {
		role            models.Role
		valid, canWrite bool
	}{
		{models.RoleOwner, true, true},
		{models.RoleAdmin, true, true},
		{models.RoleViewer, true, false},
		{"", false, false},
		{"Owner", false, false},
		{"root", false, false},
	}
	for _, tc := range cases {
		t.Run(string(tc.role), func(t *testing.T) {
			if tc.role.Valid() != tc.valid || tc.role.CanWrite() != tc.canWrite {
				t.Errorf("Valid %v CanWrite %v, want %v %v", tc.role.Valid(), tc.role.CanWrite(), tc.valid, tc.canWrite)
			}
			u := models.User{Role: tc.role}
			if u.CanWrite() != tc.canWrite {
				t.Errorf("User.CanWrite %v", u.CanWrite())
			}
		})
	}
}
