import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

/** What libs/notifications reads: its channels (SMTP, Twilio, web push), storm control and delivery retries. */
export class NotificationsConfig {
  /** Outgoing mail server; email notifications are skipped (and say so) without it. */
  @IsOptional()
  @Matches(/^smtps?:\/\/.+/, {
    message: 'SMTP_URL must be an smtp:// or smtps:// URL, e.g. smtp://user:pass@mail.example.com:587',
  })
  SMTP_URL?: string;

  @Matches(/^.+@.+$/, { message: 'MAIL_FROM must be an email address, e.g. "WMS alerts <alerts@example.com>"' })
  MAIL_FROM = 'WMS alerts <alerts@wms.local>';

  @IsOptional()
  @Matches(/^AC[0-9a-fA-F]{32}$/, { message: 'TWILIO_ACCOUNT_SID must look like AC followed by 32 hex digits' })
  TWILIO_ACCOUNT_SID?: string;

  @IsOptional()
  @IsString()
  TWILIO_AUTH_TOKEN?: string;

  @IsOptional()
  @Matches(/^\+[1-9]\d{6,14}$/, { message: 'TWILIO_FROM must be a phone number in E.164 form, like +3197010203040' })
  TWILIO_FROM?: string;

  /** Only to point the SDK at a stand-in of Twilio's API (staging, tests); unset means api.twilio.com. */
  @IsOptional()
  @Matches(/^https?:\/\/.+/, { message: 'TWILIO_API_BASE_URL must be an http(s) URL' })
  TWILIO_API_BASE_URL?: string;

  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{80,100}$/, {
    message: 'VAPID_PUBLIC_KEY must be a base64url VAPID public key (npx web-push generate-vapid-keys)',
  })
  VAPID_PUBLIC_KEY?: string;

  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{40,50}$/, { message: 'VAPID_PRIVATE_KEY must be a base64url VAPID private key' })
  VAPID_PRIVATE_KEY?: string;

  @Matches(/^(mailto:|https:).+/, { message: 'VAPID_SUBJECT must be a mailto: or https: URL' })
  VAPID_SUBJECT = 'mailto:alerts@wms.local';

  /** A CA certificate file to trust for push endpoints (a private push service); unset = the system's CAs. */
  @IsOptional()
  @IsString()
  PUSH_TLS_CA_FILE?: string;

  /** The same alert about the same thing goes to one recipient on one channel at most once per window. */
  @Type(() => Number)
  @IsInt({ message: 'NOTIFY_DEDUP_WINDOW_S must be an integer number of seconds' })
  @Min(0)
  NOTIFY_DEDUP_WINDOW_S = 3600;

  /** SMS to one phone within this window are grouped into one message. */
  @Type(() => Number)
  @IsInt({ message: 'SMS_GROUP_WINDOW_S must be an integer number of seconds' })
  @Min(0)
  SMS_GROUP_WINDOW_S = 60;

  @Type(() => Number)
  @IsInt({ message: 'SMS_DAILY_BUDGET must be an integer' })
  @Min(0)
  SMS_DAILY_BUDGET = 200;

  /** How often a recipient who chose the email digest gets it. */
  @Type(() => Number)
  @IsInt({ message: 'EMAIL_DIGEST_WINDOW_S must be an integer number of seconds' })
  @Min(1)
  EMAIL_DIGEST_WINDOW_S = 3600;

  @Type(() => Number)
  @IsInt({ message: 'DELIVERY_ATTEMPTS must be an integer' })
  @Min(1)
  @Max(50)
  DELIVERY_ATTEMPTS = 6;

  @Type(() => Number)
  @IsInt({ message: 'DELIVERY_BACKOFF_MS must be an integer number of milliseconds' })
  @Min(1)
  DELIVERY_BACKOFF_MS = 2000;
}
