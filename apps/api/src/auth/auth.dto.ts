import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsEmail,
  IsIn,
  IsOptional,
  IsString,
  IsTimeZone,
  Length,
  Matches,
} from 'class-validator';
import { IsWarehouseCode } from '@wms/wms-domain';
import type { UserRole } from '@wms/events';
import { USER_ROLES } from './principal.js';

export class LoginDto {
  @ApiProperty({ example: 'admin@demo.local' }) @IsEmail() email: string;
  @ApiProperty({ example: 'demo-password-1234' }) @IsString() @Length(1, 200) password: string;
}

export class RefreshDto {
  @ApiProperty() @IsString() @Length(10, 200) refreshToken: string;
}

export class SetPasswordDto {
  @ApiProperty({ description: 'the one-time code from tenant provisioning' }) @IsString() @Length(10, 200) code: string;
  @ApiProperty({ description: 'at least 12 characters' })
  @IsString()
  @Length(12, 200, { message: 'password must be at least 12 characters' })
  password: string;
}

export class CreateUserDto {
  @ApiProperty({ example: 'ops@example.com' }) @IsEmail() email: string;
  @ApiProperty({ example: 'Ops Person' }) @IsString() @Length(1, 200) displayName: string;
  @ApiProperty({ description: 'at least 12 characters' })
  @IsString()
  @Length(12, 200, { message: 'password must be at least 12 characters' })
  password: string;
  @ApiProperty({ enum: USER_ROLES }) @IsIn(USER_ROLES) role: UserRole;
  @ApiProperty({ example: ['WH1'] })
  @IsArray()
  @ArrayMaxSize(200)
  @IsWarehouseCode({ each: true })
  warehouses: string[];
  @ApiPropertyOptional({ example: '+31612345678' })
  @IsOptional()
  @Matches(/^\+[1-9]\d{6,14}$/, { message: 'phone must be in E.164 form, like +31612345678' })
  phone?: string;
  @ApiPropertyOptional({ example: 'Europe/Amsterdam' }) @IsOptional() @IsTimeZone() timeZone?: string;
}

export class UpdateUserDto {
  @ApiPropertyOptional({ enum: USER_ROLES }) @IsOptional() @IsIn(USER_ROLES) role?: UserRole;
  @ApiPropertyOptional()
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(200)
  @IsWarehouseCode({ each: true })
  warehouses?: string[];
  @ApiPropertyOptional() @IsOptional() @IsBoolean() disabled?: boolean;
}

export class IssueCredentialDto {
  @ApiProperty({ example: 'scanner 7, dock 2' }) @IsString() @Length(1, 200) name: string;
  @ApiProperty({ example: ['WH1'], description: 'for API keys, empty = every warehouse' })
  @IsArray()
  @ArrayMaxSize(200)
  @IsWarehouseCode({ each: true })
  warehouses: string[];
}
