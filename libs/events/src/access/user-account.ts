export type UserRole = 'operator' | 'supervisor' | 'admin';

/** How to reach a person: what notifications need of the `users` table. */
export interface UserContact {
  id: string;
  tenantId: string;
  email: string;
  displayName: string;
  phone: string | null;
  role: UserRole;
  timeZone: string;
}

/** A person as the admin screens list them. */
export interface UserSummary {
  id: string;
  email: string;
  displayName: string;
  role: UserRole;
  warehouses: string[];
  disabled: boolean;
}

/** A person's account: who they are, what they may do, how they sign in. */
export interface UserAccount extends UserSummary {
  tenantId: string;
  passwordHash: string;
}

/** An account of a provisioned tenant, with whether that tenant is suspended. */
export interface SessionAccount extends UserAccount {
  tenantSuspended: boolean;
}

export interface NewUserRow {
  id: string;
  tenantId: string;
  email: string;
  displayName: string;
  passwordHash: string;
  role: UserRole;
  warehouses: string[];
  phone?: string | null;
  timeZone?: string;
}

/** A person's access as it is now, for every request. */
export interface UserAccessRow {
  tenantId: string;
  role: string;
  warehouses: string[];
  /** Disabled, or their tenant is suspended. */
  refused: boolean;
  tokensNotBefore: Date | null;
}

/** Never matches a password: an account whose owner has not set one yet cannot be signed in to. */
export const NO_PASSWORD = 'unset';
