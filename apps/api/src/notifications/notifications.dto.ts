import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsTimeZone,
  IsUrl,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { type Category, CHANNELS, type Channel, type Severity } from '@wms/notifications';

const SEVERITIES = ['info', 'warning', 'critical'] as const;
const OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in'] as const;
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

export class ConditionDto {
  @ApiProperty({ example: 'available' })
  @IsString()
  @Matches(/^[A-Za-z_][A-Za-z0-9_.]{0,63}$/, {
    message: 'field must be a payload field path like available or lines.0.sku',
  })
  field: string;
  @ApiProperty({ enum: OPS }) @IsIn(OPS) op: (typeof OPS)[number];
  @ApiProperty({ example: 2, description: 'a number, string, boolean, or a list for "in"' })
  @IsDefined()
  value: unknown;
}

export class RuleDto {
  @ApiProperty({ example: 'Stock alerts to the night shift' }) @IsString() @Length(1, 200) name: string;
  @ApiProperty({ example: 'inventory.low_stock' }) @IsString() @Length(1, 128) eventName: string;
  @ApiPropertyOptional({ type: [ConditionDto] })
  @IsOptional()
  @ValidateNested({ each: true })
  @Type(() => ConditionDto)
  @ArrayMaxSize(20)
  conditions: ConditionDto[] = [];
  @ApiPropertyOptional({ enum: SEVERITIES }) @IsOptional() @IsIn(SEVERITIES) minSeverity: Severity = 'info';
  @ApiPropertyOptional()
  @IsOptional()
  @IsArray()
  @IsUUID('all', { each: true })
  @ArrayMaxSize(100)
  recipientUsers: string[] = [];
  @ApiPropertyOptional({ example: ['supervisor'] })
  @IsOptional()
  @IsArray()
  @IsIn(['operator', 'supervisor', 'admin'], { each: true })
  recipientRoles: string[] = [];
  @ApiProperty({ enum: CHANNELS, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @IsIn(CHANNELS, { each: true, message: 'each channel must be one of in_app, email, sms, push' })
  channels: Channel[];
  @ApiPropertyOptional() @IsOptional() @IsBoolean() enabled = true;
}

/** Present means validated: `null` is refused rather than stored (a stored non-list once broke routing for everyone). */
const MutedChannels = () =>
  applyDecorators(
    ApiPropertyOptional({ enum: CHANNELS, isArray: true }),
    ValidateIf((_, value) => value !== undefined),
    IsArray({ message: ({ property }) => `${property} must be a list of channels (in_app, email, sms, push)` }),
    ArrayMaxSize(CHANNELS.length),
    IsIn(CHANNELS, {
      each: true,
      message: ({ property }) => `each channel in ${property} must be one of in_app, email, sms, push`,
    }),
  );

/** Channels turned off per category; with the global pipe's whitelist an unknown category is refused as `muted.<name>`. */
export class MutedDto implements Partial<Record<Category, Channel[]>> {
  @MutedChannels() stock?: Channel[];
  @MutedChannels() inbound?: Channel[];
  @MutedChannels() outbound?: Channel[];
  @MutedChannels() system?: Channel[];
}

export class PreferencesDto {
  @ApiPropertyOptional({
    type: MutedDto,
    example: { stock: ['sms'] },
    description: 'channels turned off per category (stock, inbound, outbound, system)',
  })
  @ValidateIf((_, value) => value !== undefined)
  @IsObject({
    message: 'muted must be an object of categories (stock, inbound, outbound, system) to lists of channels',
  })
  @ValidateNested()
  @Type(() => MutedDto)
  muted: MutedDto = {};
  @ApiPropertyOptional({ example: '22:00' })
  @IsOptional()
  @Matches(HHMM, { message: 'quietStart must be HH:MM' })
  quietStart: string | null = null;
  @ApiPropertyOptional({ example: '06:00' })
  @IsOptional()
  @Matches(HHMM, { message: 'quietEnd must be HH:MM' })
  quietEnd: string | null = null;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() emailDigest = false;
  @ApiPropertyOptional({ example: '+31612345678' })
  @IsOptional()
  @Matches(/^\+[1-9]\d{6,14}$/, { message: 'phone must be in E.164 form, like +31612345678' })
  phone?: string;
  @ApiPropertyOptional({ example: 'Europe/Amsterdam' }) @IsOptional() @IsTimeZone() timeZone?: string;
}

class PushKeysDto {
  @ApiProperty()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{80,100}=*$/, { message: 'keys.p256dh must be a base64url P-256 public key' })
  p256dh: string;
  @ApiProperty()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{16,30}=*$/, { message: 'keys.auth must be a base64url 16-byte secret' })
  auth: string;
}

export class PushSubscriptionDto {
  /** The scheme and address rules are the outbound URL policy's (https to a public address), checked by the service. */
  @ApiProperty()
  @MaxLength(2048)
  @IsUrl(
    { protocols: ['https', 'http'], require_protocol: true, require_tld: false },
    { message: 'endpoint must be a URL like https://push.example.com/…' },
  )
  endpoint: string;
  @ApiProperty({ type: PushKeysDto }) @ValidateNested() @Type(() => PushKeysDto) keys: PushKeysDto;
}

export class InboxQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit = 50;
  @IsOptional() @IsIn(['true', 'false']) unread?: 'true' | 'false';
}
